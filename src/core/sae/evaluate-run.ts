// The evaluation that follows a training run: the dictionary just saved, on held-out windows of the run's own
// dataset — the validation split where the dataset has a reference split (the embedded corpus), else the dataset's
// last windows (which a run shorter than one pass has not seen; the log says which were used).
import type { TrainConfig } from '../../protocol/run-config';
import { embeddedDataset, isEmbeddedDataset } from '../data';
import type { StudioHome } from '../home';
import { sliceRows } from '../lm/token-batch';
import { loadDictionary } from './dictionary-store';
import { evaluateDictionary, type EvalResult } from './evaluate';
import { loadModelAndWindows } from './train-data';
import { Sae } from './variants/sae';

export interface RunEvaluation {
  result: EvalResult;
  /** Which windows were used, in words. */
  windows: string;
}

export async function evaluateTrainedDictionary(
  cfg: TrainConfig,
  dictionaryDir: string,
  home: StudioHome,
  opts: {
    windows: number;
    onProgress?: (phase: string, done: number, total: number) => void;
    onLog?: (m: string) => void;
  },
): Promise<RunEvaluation> {
  const hasSplit = isEmbeddedDataset(cfg.dataset) && !!embeddedDataset(cfg.dataset).windowSplit;
  const stored = loadDictionary(dictionaryDir, home);
  const data = await loadModelAndWindows(cfg.model, cfg.dataset, {
    home,
    split: hasSplit ? 'validation' : 'all',
    contextSize: cfg.context_size,
    basis: stored.cfg.activation_basis, // the run's own dictionary records it
    onLog: opts.onLog,
  });
  const n = Math.min(opts.windows, data.windows.batch);
  const first = hasSplit ? 0 : data.windows.batch - n;
  const windows = sliceRows(data.windows, first, n);
  const sae = new Sae(stored.cfg, stored.params);
  try {
    const result = await evaluateDictionary(data.model, sae, windows, { onProgress: opts.onProgress });
    const which = hasSplit ? `${n} validation windows` : `the last ${n} of ${data.windows.batch} windows`;
    return { result, windows: which };
  } finally {
    sae.dispose();
    data.model.dispose();
  }
}

/** The evaluation's single numbers (frequency buckets left out), as a dictionary's metrics. */
export function evaluationMetrics(r: EvalResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) if (typeof v === 'number') out[k] = v;
  return out;
}
