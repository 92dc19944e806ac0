// Everything a training or evaluation job reads: the model, its tokenizer, the dataset's context windows, and
// the resolved dictionary config (d_model from the model, hook points checked against it).
import { embeddedDataset, isEmbeddedDataset, loadDatasetWindows } from '../data';
import type { ActivationBasis } from '../../protocol/kind-configs/common';
import { InputError } from '../errors';
import type { StudioHome } from '../home';
import type { HookedTransformer } from '../lm/hooked-transformer';
import { hookStage } from '../lm/hooks';
import { loadModel, type ModelLocation } from '../lm/load-model';
import type { ModelConfig } from '../lm/model-config';
import type { TokenBatch } from '../lm/token-batch';
import { ModelTokenizer } from '../lm/tokenizer';

export interface ModelAndWindows {
  model: HookedTransformer;
  location: ModelLocation;
  tokenizer: ModelTokenizer;
  windows: TokenBatch;
  bosId: number;
}

/** 'train' for datasets with a reference split (the embedded corpus), else all windows. */
export function resolveSplit(
  dataset: string,
  split: 'train' | 'validation' | 'all' | null,
): 'train' | 'validation' | 'all' {
  if (split) return split;
  return isEmbeddedDataset(dataset) && embeddedDataset(dataset).windowSplit ? 'train' : 'all';
}

export async function loadModelAndWindows(
  modelRef: string,
  dataset: string,
  opts: {
    home: StudioHome;
    split: 'train' | 'validation' | 'all';
    contextSize: number | null;
    /** The activation basis to run the model in (default 'unprocessed'): the dictionary's activation_basis. */
    basis?: ActivationBasis;
    onLog?: (m: string) => void;
  },
): Promise<ModelAndWindows> {
  const { model, location } = loadModel(modelRef, { basis: opts.basis });
  const tokenizer = ModelTokenizer.load(location.dir);
  const eosId = model.cfg.eosTokenId ?? model.cfg.bosTokenId;
  const bosId = model.cfg.bosTokenId ?? model.cfg.eosTokenId;
  if (bosId === null || eosId === null) {
    throw new InputError(
      `${location.dir}/config.json: neither bos_token_id nor eos_token_id is set, expected the id that starts each context window`,
    );
  }
  const seqLen = opts.contextSize ?? model.cfg.nCtx;
  if (seqLen > model.cfg.nCtx)
    throw new InputError(`context_size ${seqLen} exceeds the model's context of ${model.cfg.nCtx} tokens`);
  if (seqLen < 2) throw new InputError(`context_size ${seqLen} is too small, expected at least 2 (BOS + one token)`);
  opts.onLog?.(`tokenizing ${dataset} (cached in ${opts.home.tokens})`);
  const { windows } = await loadDatasetWindows(dataset, {
    tokenizer,
    seqLen,
    bosId,
    eosId,
    cacheDir: opts.home.tokens,
    split: opts.split === 'all' ? undefined : opts.split,
  });
  return { model, location, tokenizer, windows, bosId };
}

/** Checks the hooks exist in the model; returns them ([in] or [in, out] for a transcoder). */
export function dictionaryHooks(modelCfg: ModelConfig, hookIn: string, hookOut: string): string[] {
  const hooks = hookIn === hookOut ? [hookIn] : [hookIn, hookOut];
  for (const h of hooks) {
    try {
      hookStage(modelCfg, h);
    } catch (err) {
      throw new InputError(`sae.hook_point: ${(err as Error).message}`);
    }
  }
  return hooks;
}
