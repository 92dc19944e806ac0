// `sae-studio demo --recipe <name>`: trains one of the small examples of src/core/dictionary/recipes.ts, evaluates
// it on held-out windows, prints a summary on stderr and one JSON line (the last line) on stdout.
import { randomBytes } from 'node:crypto';
import { TrainConfigSchema, type TrainConfig } from '../../protocol/run-config';
import type { SaeConfig } from '../../protocol/dictionary-config';
import { evaluateKind, type KindEvalResult } from '../../core/dictionary/evaluate-kind';
import { kindRecipe, type KindRecipeName } from '../../core/dictionary/recipes';
import { kindOf, loadAnyDictionary } from '../../core/dictionary/registry';
import { evaluateDictionarySet } from '../../core/dictionary/evaluate-set';
import { openStore, saveDictionarySet, upsertDictionary } from '../../core/store';
import { trainKindDictionary } from '../../core/dictionary/train-kind';
import { transcodersAsClt } from '../../core/dictionary/transcoder-set';
import type { StudioHome } from '../../core/home';
import { sliceRows } from '../../core/lm/token-batch';
import { loadDictionary } from '../../core/sae/dictionary-store';
import { evaluateDictionary } from '../../core/sae/evaluate';
import { loadModelAndWindows } from '../../core/sae/train-data';
import { trainDictionary } from '../../core/sae/trainer';
import { Sae } from '../../core/sae/variants/sae';
import type { BackendRequest } from '../../core/tensor/backend';
import { runTrainingWithProgress } from '../train-progress';

const EVAL_WINDOWS = 64;

async function heldOut(cfg: TrainConfig, home: StudioHome) {
  const data = await loadModelAndWindows(cfg.model, cfg.dataset, {
    home,
    split: 'validation',
    contextSize: cfg.context_size,
  });
  return { model: data.model, windows: sliceRows(data.windows, 0, Math.min(EVAL_WINDOWS, data.windows.batch)) };
}

/** Trains an `sae` config and evaluates it on the validation windows (the SAE evaluator). */
async function trainSae(cfg: TrainConfig, home: StudioHome): Promise<{ dir: string; seconds: number; tokens: number }> {
  const runId = `${cfg.name}-${randomBytes(3).toString('hex')}`;
  const r = await runTrainingWithProgress((onEvent, signal) => trainDictionary(cfg, { home, runId, onEvent, signal }));
  if (!r.dictionaryDir) throw new Error(`${cfg.name}: training stopped before the end`);
  return { dir: r.dictionaryDir, seconds: r.seconds, tokens: r.tokens };
}

/**
 * Registers the replacement recipe's dictionaries in the store, saves them as the dictionary set `replacement`
 * (CLT → mlp, Lorsas → attn), and evaluates the set on held-out windows (every output spliced in, in model order).
 */
async function storeReplacementSet(
  configs: TrainConfig[],
  dictionaries: string[],
  home: StudioHome,
): Promise<Record<string, unknown>> {
  const loaded = dictionaries.map((dir) => loadAnyDictionary(dir));
  const names = configs.map((c) => c.name);
  const store = openStore({ dir: home.root });
  try {
    loaded.forEach((l, i) =>
      upsertDictionary(store, {
        name: names[i]!,
        path: l.dir,
        config: l.cfg as unknown as Record<string, unknown> & { d_sae: number },
        modelName: configs[i]!.model,
      }),
    );
    saveDictionarySet(store, {
      name: 'replacement',
      members: loaded.map((l, i) => ({ dictionary: names[i]!, role: l.kind.saeType === 'lorsa' ? 'attn' : 'mlp' })),
      modelName: configs[0]!.model,
      description: 'sae-studio demo --recipe replacement',
    });
  } finally {
    store.close();
  }
  const { model, windows } = await heldOut(configs[0]!, home);
  try {
    const members = loaded.map((l, i) => ({ name: names[i]!, kind: l.kind, cfg: l.cfg, params: l.params }));
    const r = await evaluateDictionarySet(model, members, windows);
    const evs = r.outputs.map((o) => o.explained_variance);
    return { set: 'replacement', explained_variance: evs.reduce((a, b) => a + b, 0) / evs.length, ...r };
  } finally {
    model.dispose();
  }
}

export interface RecipeResult {
  recipe: string;
  description: string;
  dictionaries: string[];
  train_seconds: number;
  train_tokens: number;
  evaluation: KindEvalResult | Record<string, unknown>;
}

export async function runKindRecipe(
  name: KindRecipeName,
  home: StudioHome,
  opts: { tokens?: number; backend: BackendRequest },
): Promise<RecipeResult> {
  const recipe = kindRecipe(name, opts.tokens);
  const configs = recipe.configs.map((c) => TrainConfigSchema.parse({ ...c, backend: opts.backend }));
  const dictionaries: string[] = [];
  let seconds = 0;
  let tokens = 0;
  let evaluation: RecipeResult['evaluation'] | null = null;
  for (const cfg of configs) {
    if (cfg.sae.sae_type === 'sae') {
      const r = await trainSae(cfg, home);
      dictionaries.push(r.dir);
      seconds += r.seconds;
      tokens += r.tokens;
      continue;
    }
    const runId = `${cfg.name}-${randomBytes(3).toString('hex')}`;
    const r = await runTrainingWithProgress((onEvent, signal) =>
      trainKindDictionary(cfg, { home, runId, onEvent, signal }),
    );
    if (!r.dictionaryDir) throw new Error(`${cfg.name}: training stopped before the end`);
    dictionaries.push(r.dictionaryDir);
    seconds += r.seconds;
    tokens += r.tokens;
    evaluation = r.evaluation;
  }
  const first = configs[0]!;
  if (name === 'plt') {
    // The transcoders together, as one replacement of the four MLPs.
    const set = transcodersAsClt(
      dictionaries.map((dir) => {
        const s = loadDictionary(dir, home);
        return { cfg: s.cfg as SaeConfig, params: s.params, dir };
      }),
    );
    const { model, windows } = await heldOut(first, home);
    try {
      evaluation = await evaluateKind(model, kindOf('clt'), set.cfg, set.params, windows);
    } finally {
      model.dispose();
    }
  } else if (name === 'sae-attn') {
    const stored = loadDictionary(dictionaries[0]!, home);
    const { model, windows } = await heldOut(first, home);
    const sae = new Sae(stored.cfg, stored.params);
    try {
      evaluation = { sae_type: 'sae', ...(await evaluateDictionary(model, sae, windows)) };
    } finally {
      sae.dispose();
      model.dispose();
    }
  }
  if (name === 'replacement') evaluation = await storeReplacementSet(configs, dictionaries, home);
  if (!evaluation) throw new Error(`${name}: no evaluation`);
  return {
    recipe: name,
    description: recipe.description,
    dictionaries,
    train_seconds: seconds,
    train_tokens: tokens,
    evaluation,
  };
}
