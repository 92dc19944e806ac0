// A home folder for the interop suites: a real studio.db holding one dictionary of every kind (three `sae`s — a
// ReLU SAE, a JumpReLU transcoder, a TopK SAE with decoder-norm gating — and the tiny crosscoder, CLT, Lorsa and
// MoLT of tests/helpers/kind-dictionaries.ts), each in lm-saes's layout under dictionaries/<name>/, a finished
// training run per kind, and the fixture attribution graph.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KindConfigBase } from '../../../src/core/dictionary/kind';
import { kindOf, saveAnyDictionary } from '../../../src/core/dictionary/registry';
import { studioHome } from '../../../src/core/home';
import { createRun, importGraph, openStore, updateRunStatus, upsertDictionary } from '../../../src/core/store';
import type { TrainConfigInput } from '../../../src/protocol/run-config';
import { fixtureGraphJson } from '../../helpers/graph-json-fixture';
import { kindDictionary, KIND_NAMES, type KindDictionary } from '../../helpers/kind-dictionaries';
import { buildSaeConfig, buildTranscoderConfig, randomParams } from '../sae/formats/helpers';

export const GRAPH_NAME = 'france-capital';

/** The three `sae` dictionaries, by the SAELens architecture each exports as. */
export function saeDictionaries(): (KindDictionary & { architecture: string })[] {
  const cases = [
    { name: 'relu-sae', architecture: 'standard', cfg: buildSaeConfig({ act_fn: 'relu', model_name: 'pdlm-4l-256' }) },
    {
      name: 'jumprelu-tc',
      architecture: 'jumprelu_transcoder',
      cfg: buildTranscoderConfig({ act_fn: 'jumprelu', model_name: 'pdlm-4l-256' }),
    },
    {
      name: 'topk-sae',
      architecture: 'topk',
      cfg: buildSaeConfig({ act_fn: 'topk', top_k: 4, sparsity_include_decoder_norm: true, model_name: 'pdlm-4l-256' }),
    },
  ];
  return cases.map((c, i) => ({
    name: c.name,
    architecture: c.architecture,
    kind: kindOf('sae'),
    cfg: c.cfg as unknown as KindConfigBase,
    params: randomParams(c.cfg, 11 + i),
  }));
}

export function allDictionaries(): KindDictionary[] {
  return [...saeDictionaries(), ...KIND_NAMES.map((k) => kindDictionary(k))];
}

/** The `sae` part of a run config of each kind on pdlm-4l-256 (d_model 256, 4 layers). */
export const RUN_SAE_CONFIGS: Record<string, TrainConfigInput['sae']> = {
  sae: { hook_point_in: 'blocks.1.hook_resid_post', d_sae: 512, act_fn: 'topk', top_k: 8 },
  crosscoder: { sae_type: 'crosscoder', hook_points: [1, 2].map((l) => `blocks.${l}.hook_resid_post`), d_sae: 64 },
  clt: {
    sae_type: 'clt',
    hook_points_in: [0, 1].map((l) => `blocks.${l}.ln2.hook_normalized`),
    hook_points_out: [0, 1].map((l) => `blocks.${l}.hook_mlp_out`),
    d_sae: 64,
    act_fn: 'topk',
    top_k: 4,
  },
  lorsa: {
    sae_type: 'lorsa',
    hook_point_in: 'blocks.1.ln1.hook_normalized',
    hook_point_out: 'blocks.1.hook_attn_out',
    d_sae: 64,
    n_qk_heads: 2,
    d_qk_head: 8,
    positional_embedding_type: 'none',
    rotary_dim: 8,
    n_ctx: 64,
    act_fn: 'topk',
    top_k: 4,
  },
  molt: {
    sae_type: 'molt',
    hook_point_in: 'blocks.2.ln2.hook_normalized',
    hook_point_out: 'blocks.2.hook_mlp_out',
    rank_counts: { '1': 8, '2': 4 },
    act_fn: 'topk',
    top_k: 4,
  },
};

export function runConfig(saeType: string): TrainConfigInput {
  return {
    name: `run-${saeType}`,
    series: 'interop',
    model: 'pdlm-4l-256',
    dataset: 'pdlm-corpus',
    context_size: 64,
    sae: RUN_SAE_CONFIGS[saeType]!,
    batch_size: 256,
    total_training_tokens: 256 * 40,
    shuffle_windows: 16,
    lr: 3e-3,
    l1_coefficient: 0.5,
    checkpoint_every_tokens: 256 * 10,
    seed: 5,
    ignore_token_ids: [0],
  };
}

/** A new home with everything above; returns its root. */
export function buildInteropHome(): string {
  const root = mkdtempSync(join(tmpdir(), 'sae-studio-interop-'));
  const home = studioHome(root);
  const store = openStore({ dir: home.root });
  try {
    for (const d of allDictionaries()) {
      const dir = join(home.dictionaries, d.name);
      saveAnyDictionary(dir, d.kind, d.cfg, d.params, { lmConfig: { model_name: 'pdlm-4l-256' } });
      upsertDictionary(store, {
        name: d.name,
        path: dir,
        config: d.cfg as unknown as Record<string, unknown> & { d_sae: number },
        modelName: 'pdlm-4l-256',
      });
    }
    for (const saeType of Object.keys(RUN_SAE_CONFIGS)) {
      const cfg = runConfig(saeType);
      createRun(store, { id: cfg.name!, dictionaryName: cfg.name!, config: cfg });
      updateRunStatus(store, cfg.name!, 'done');
    }
    // The run that trained relu-sae: SAELens's metadata takes the window size and dataset from it.
    createRun(store, {
      id: 'train-relu-sae',
      dictionaryName: 'relu-sae',
      config: { ...runConfig('sae'), name: 'relu-sae' },
    });
    updateRunStatus(store, 'train-relu-sae', 'done');
    importGraph(store, { name: GRAPH_NAME, json: fixtureGraphJson(GRAPH_NAME), modelName: 'pdlm-4l-256' });
  } finally {
    store.close();
  }
  return root;
}
