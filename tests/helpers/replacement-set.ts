// A small random replacement set for pdlm-4l-256, registered in a real store (as tests/cli/attribute.test.ts builds
// one): a CLT over the four MLPs and a Lorsa per attention layer, tiny widths, weights scaled so that features fire.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/core/config/validate';
import { uniformGenerator } from '../../src/core/dictionary/host64';
import { kindOf, saveAnyDictionary } from '../../src/core/dictionary/registry';
import { openStore, saveDictionarySet, upsertDictionary } from '../../src/core/store';

const LAYERS = [0, 1, 2, 3];
const MODEL = 'pdlm-4l-256';

export function saveRandomDictionary(home: string, name: string, config: Record<string, unknown>, seed: number): void {
  const kind = kindOf(String(config.sae_type));
  const cfg = parseConfig(
    kind.schema,
    { d_model: 256, norm_activation: 'inference', model_name: MODEL, ...config },
    name,
  );
  const params = kind.init(cfg, seed);
  const u = uniformGenerator(seed);
  for (const n of kind.trainable(cfg))
    params[n]!.data = params[n]!.data.map((v) =>
      v === 0 ? u(0.02) : v * (n.startsWith('W_E') || n.startsWith('W_V') ? 8 : 1),
    );
  const dir = join(home, 'dictionaries', name);
  mkdirSync(join(home, 'dictionaries'), { recursive: true });
  saveAnyDictionary(dir, kind, cfg, params);
  const store = openStore({ dir: home });
  try {
    upsertDictionary(store, { name, path: dir, config: cfg as never, modelName: MODEL });
  } finally {
    store.close();
  }
}

/** Saves the dictionaries and registers them as the dictionary set `setName` in the store of `home`. */
export function saveRandomReplacementSet(home: string, setName = 'replacement', cltWidth = 64): void {
  saveRandomDictionary(
    home,
    `${setName}-clt`,
    {
      sae_type: 'clt',
      hook_points_in: LAYERS.map((l) => `blocks.${l}.ln2.hook_normalized`),
      hook_points_out: LAYERS.map((l) => `blocks.${l}.hook_mlp_out`),
      d_sae: cltWidth,
      act_fn: 'topk',
      top_k: 8,
    },
    1,
  );
  for (const l of LAYERS)
    saveRandomDictionary(
      home,
      `${setName}-lorsa-${l}`,
      {
        sae_type: 'lorsa',
        hook_point_in: `blocks.${l}.ln1.hook_normalized`,
        hook_point_out: `blocks.${l}.hook_attn_out`,
        d_sae: 32,
        n_qk_heads: 4,
        d_qk_head: 16,
        n_ctx: 256,
        positional_embedding_type: 'none',
        rotary_dim: 16,
        act_fn: 'topk',
        top_k: 4,
      },
      10 + l,
    );
  const store = openStore({ dir: home });
  try {
    saveDictionarySet(store, {
      name: setName,
      members: [
        { dictionary: `${setName}-clt`, role: 'mlp' },
        ...LAYERS.map((l) => ({ dictionary: `${setName}-lorsa-${l}`, role: 'attn' as const })),
      ],
      modelName: MODEL,
    });
  } finally {
    store.close();
  }
}
