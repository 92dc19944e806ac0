// The analysis job: loads a saved dictionary and its model, cuts the dataset into windows with the model's
// tokenizer, runs the streaming analysis pass and saves the result in the local store in one transaction.
import { existsSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { InputError } from '../errors';
import type { StudioHome } from '../home';
import { chooseBasis } from '../lm/activation-basis';
import { readModelConfig, resolveModel } from '../lm/load-model';
import type { ActivationBasis } from '../../protocol/kind-configs/common';
import { loadAnyDictionary, type AnyDictionary } from '../dictionary/registry';
import { resolveDictionaryDir } from '../sae/dictionary-store';
import { loadModelAndWindows, resolveSplit, type ModelAndWindows } from '../sae/train-data';
import { Sae } from '../sae/variants/sae';
import type { SaeConfig } from '../../protocol/dictionary-config';
import { openStore, saveAnalysis, upsertDictionary, type SavedAnalysis } from '../store';
import { analyzeDictionary, type AnalysisInfo, type AnalysisProgress } from './analyze-dictionary';
import { analyzeKindDictionary } from './analyze-kind';
import type { AnalysisResult } from './types';
import type { RowSpool } from '../activations/row-spool';

export interface AnalyzeJob {
  dictionary: string;
  /** Model folder or name (default: the one recorded with the dictionary). */
  model?: string;
  dataset: string;
  split?: 'train' | 'validation' | 'all' | null;
  tokens: number;
  /** lm-saes analysis name (default 'default'); an existing one is replaced. */
  name?: string;
  /**
   * The activation basis asked for (--basis): used when the dictionary's files record none, an error when they
   * record another; without either, 'unprocessed' is assumed and onLog says so.
   */
  basis?: ActivationBasis;
  onProgress?: (p: AnalysisProgress) => void;
  onLog?: (message: string) => void;
  /** A training run's activation spool over the same windows: read back instead of running the model. */
  spool?: RowSpool;
}

export interface AnalyzeJobResult {
  saved: SavedAnalysis;
  dictionaryName: string;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  peakRssMb: number;
}

/** The model a dictionary was trained on, as recorded with it (lm_config.json or its config's model_name). */
function recordedModel(stored: AnyDictionary): string | null {
  const fromLm = stored.lmConfig?.model_name;
  return typeof fromLm === 'string' ? fromLm : (stored.cfg.model_name ?? null);
}

/** Refuses an activation cache where text is needed, naming the model the cache was made with. */
function checkTextDataset(dataset: string, modelRef: string): void {
  const manifest = join(dataset, 'manifest.json');
  if (!existsSync(manifest)) return;
  let cacheModel: unknown;
  try {
    cacheModel = (JSON.parse(readFileSync(manifest, 'utf8')) as { model?: unknown }).model;
  } catch {
    cacheModel = undefined;
  }
  const other =
    typeof cacheModel === 'string' && cacheModel !== modelRef
      ? `, made with model '${cacheModel}' (another tokenizer) while the dictionary reads '${modelRef}'`
      : '';
  throw new InputError(
    `${dataset}: is an activation cache${other}; the analysis needs text, tokenized by the dictionary's model '${modelRef}'`,
  );
}

/** The pass for the dictionary's kind: the SAE's own (with logits and neighbours) or the registry's. */
async function runPass(
  stored: AnyDictionary,
  data: ModelAndWindows,
  nTokens: number,
  info: AnalysisInfo,
  onProgress: (p: AnalysisProgress) => void,
  spool: RowSpool | undefined,
): Promise<AnalysisResult> {
  if (stored.kind.saeType !== 'sae') {
    return analyzeKindDictionary({
      model: data.model,
      kind: stored.kind,
      cfg: stored.cfg,
      params: stored.params,
      windows: data.windows,
      nTokens,
      info,
      onProgress,
    });
  }
  const sae = new Sae(stored.cfg as unknown as SaeConfig, stored.params);
  try {
    return await analyzeDictionary({
      model: data.model,
      dictionary: sae,
      windows: data.windows,
      tokenizer: data.tokenizer,
      nTokens,
      info,
      onProgress,
      ...(spool ? { spool } : {}),
    });
  } finally {
    sae.dispose();
  }
}

export async function analyzeIntoStore(job: AnalyzeJob, home: StudioHome): Promise<AnalyzeJobResult> {
  const stored = loadAnyDictionary(resolveDictionaryDir(job.dictionary, home));
  const { basis, notice } = chooseBasis(stored, job.basis);
  if (notice) job.onLog?.(notice);
  const recorded = recordedModel(stored);
  const modelRef = job.model ?? recorded;
  if (!modelRef) throw new InputError(`${stored.dir}: the dictionary does not record its model; pass --model`);
  const modelCfg = readModelConfig(resolveModel(modelRef).dir);
  if (modelCfg.dModel !== stored.cfg.d_model) {
    throw new InputError(
      `${stored.dir}: d_model ${stored.cfg.d_model} does not match model '${modelRef}' (d_model ${modelCfg.dModel})`,
    );
  }
  checkTextDataset(job.dataset, modelRef);
  const split = resolveSplit(job.dataset, job.split ?? null);
  // Attention kinds see whole windows: no longer than the positions the dictionary was made for.
  const nCtx = (stored.cfg as { n_ctx?: unknown }).n_ctx;
  const contextSize = stored.kind.needsSequences && typeof nCtx === 'number' && nCtx < modelCfg.nCtx ? nCtx : null;
  const data = await loadModelAndWindows(modelRef, job.dataset, {
    home,
    split,
    contextSize,
    onLog: job.onLog,
    basis,
  });
  const store = openStore({ dir: home.root });
  const name = basename(stored.dir);
  let peak = process.memoryUsage().rss;
  try {
    const t0 = performance.now();
    const info = {
      dictionaryName: name,
      dictionaryDir: stored.dir,
      modelName: modelRef,
      dataset: { spec: job.dataset, split, contextSize: data.windows.seq },
    };
    const result = await runPass(
      stored,
      data,
      job.tokens,
      info,
      (p) => {
        peak = Math.max(peak, process.memoryUsage().rss);
        job.onProgress?.(p);
      },
      job.spool,
    );
    const seconds = (performance.now() - t0) / 1000;
    upsertDictionary(store, {
      name,
      path: stored.dir,
      config: stored.cfg as unknown as Record<string, unknown> & { d_sae: number },
      modelName: modelRef,
    });
    const saved = saveAnalysis(store, result, { name: job.name ?? 'default', replace: true });
    return {
      saved,
      dictionaryName: name,
      tokens: result.tokensAnalysed,
      seconds,
      tokensPerSecond: Math.round(result.tokensAnalysed / seconds),
      peakRssMb: Math.round(peak / 2 ** 20),
    };
  } finally {
    store.db.close();
    data.model.dispose();
  }
}
