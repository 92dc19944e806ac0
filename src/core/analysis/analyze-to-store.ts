// The analysis job: loads a saved dictionary and its model, cuts the dataset into windows with the model's
// tokenizer, runs the streaming analysis pass and saves the result in the local store in one transaction.
import { existsSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { InputError } from '../errors';
import type { StudioHome } from '../home';
import { chooseBasis } from '../lm/activation-basis';
import { readModelConfig, resolveModel } from '../lm/load-model';
import type { ActivationBasis } from '../../protocol/kind-configs/common';
import { loadDictionary, recordedModel } from '../sae/dictionary-store';
import { loadModelAndWindows, resolveSplit } from '../sae/train-data';
import { Sae } from '../sae/variants/sae';
import { openStore, saveAnalysis, upsertDictionary, type SavedAnalysis } from '../store';
import { analyzeDictionary, type AnalysisProgress } from './analyze-dictionary';

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
}

export interface AnalyzeJobResult {
  saved: SavedAnalysis;
  dictionaryName: string;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  peakRssMb: number;
}

export async function analyzeIntoStore(job: AnalyzeJob, home: StudioHome): Promise<AnalyzeJobResult> {
  const stored = loadDictionary(job.dictionary, home);
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
  const manifest = join(job.dataset, 'manifest.json');
  if (existsSync(manifest)) {
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
      `${job.dataset}: is an activation cache${other}; the analysis needs text, tokenized by the dictionary's model '${modelRef}'`,
    );
  }
  const split = resolveSplit(job.dataset, job.split ?? null);
  const data = await loadModelAndWindows(modelRef, job.dataset, {
    home,
    split,
    contextSize: null,
    basis,
    onLog: job.onLog,
  });
  const sae = new Sae(stored.cfg, stored.params);
  const store = openStore({ dir: home.root });
  const name = basename(stored.dir);
  let peak = process.memoryUsage().rss;
  try {
    const t0 = performance.now();
    const result = await analyzeDictionary({
      model: data.model,
      dictionary: sae,
      windows: data.windows,
      tokenizer: data.tokenizer,
      nTokens: job.tokens,
      info: {
        dictionaryName: name,
        dictionaryDir: stored.dir,
        modelName: modelRef,
        dataset: { spec: job.dataset, split, contextSize: data.windows.seq },
      },
      onProgress: (p) => {
        peak = Math.max(peak, process.memoryUsage().rss);
        job.onProgress?.(p);
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    upsertDictionary(store, { name, path: stored.dir, config: stored.cfg, modelName: modelRef });
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
    sae.dispose();
    data.model.dispose();
  }
}
