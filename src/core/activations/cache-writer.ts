// `sae-studio generate`: runs the model over the windows chunk by chunk and writes the activation cache in
// lm-saes's layout (see cache-layout.ts). Resumable: the manifest is written first and checked on restart; per
// chunk and hook the safetensors is written atomically and its meta JSON atomically after it, so a chunk whose
// meta files are all present (and whose headers check out) is complete and skipped; any other chunk is rewritten.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors';
import { tokenMask, type TokenMaskOptions } from '../data/masks';
import type { HookedTransformer } from '../lm/hooked-transformer';
import { sliceRows, type TokenBatch } from '../lm/token-batch';
import { readSafetensorsHeader, writeSafetensors } from '../tensor/safetensors';
import {
  CACHE_FORMAT,
  MANIFEST_FILE,
  SAFETENSORS_DTYPE,
  checkHookDirName,
  checkSameManifest,
  chunkMetaPath,
  chunkTensorsPath,
  readManifest,
  writeJsonAtomic,
  type CacheDtype,
  type CacheManifest,
} from './cache-layout';
import { checkCount, checkHookPoints } from './checks';
import { maskKey, windowsDigest } from './fingerprint';
import { checkWindows, forEachForward, hookWidths } from './model-rows';
import { entryOf } from '../util/lookup';
import { sweepDeadTempFiles } from '../util/atomic-file';

export interface GenerateCacheOptions {
  model: HookedTransformer;
  /** Context windows [n, S] in the order to store them. */
  windows: TokenBatch;
  hookPoints: string[];
  outDir: string;
  /** Windows per chunk (lm-saes n_samples_per_chunk). */
  chunkSize: number;
  /** Windows per forward pass. */
  modelBatchSize: number;
  /** Recorded in the manifest and in each sample's meta (model_name). */
  modelName: string;
  /** Recorded in the manifest and in each sample's meta (dataset_name). */
  datasetName: string;
  /** The mask stored with each chunk (default: all but position 0); `padId` also sets `attention_mask`. */
  mask?: TokenMaskOptions;
  /** Activation dtype on disk (default float32). */
  dtype?: CacheDtype;
  /** Each window's index in its dataset, stored as meta `context_idx` (default: its row in `windows`). */
  contextIndices?: ArrayLike<number>;
  onProgress?: (p: GenerateProgress) => void;
  /** Checked between chunks: an aborted generation stops there and resumes later. */
  signal?: AbortSignal;
}

export interface GenerateProgress {
  chunk: number;
  chunks: number;
  /** Whether this chunk was already complete on disk. */
  skipped: boolean;
  windowsDone: number;
  windows: number;
}

export interface GenerateResult {
  manifest: CacheManifest;
  written: number;
  skipped: number;
  /** Tokens whose activations were computed in this call. */
  tokensComputed: number;
  seconds: number;
}

export async function generateActivationCache(opts: GenerateCacheOptions): Promise<GenerateResult> {
  const t0 = performance.now();
  const { model, windows, hookPoints, outDir } = opts;
  checkHookPoints(hookPoints);
  hookPoints.forEach(checkHookDirName);
  checkCount(opts.chunkSize, 'chunk_size');
  checkCount(opts.modelBatchSize, 'model_batch_size');
  checkWindows(model, windows);
  if (opts.contextIndices && opts.contextIndices.length !== windows.batch) {
    throw new InputError(
      `context indices: ${opts.contextIndices.length} given for ${windows.batch} windows, expected one per window`,
    );
  }
  const mask = opts.mask ?? {};
  const dims = await hookWidths(model, hookPoints);
  const n = windows.batch;
  const C = opts.chunkSize;
  const manifest: CacheManifest = {
    format: CACHE_FORMAT,
    model: opts.modelName,
    dataset: opts.datasetName,
    hook_points: [...hookPoints],
    d_model: dims,
    context_size: windows.seq,
    dtype: opts.dtype ?? 'float32',
    n_windows: n,
    n_samples_per_chunk: C,
    n_chunks: Math.ceil(n / C),
    mask: maskKey(mask),
    windows_digest: windowsDigest(windows),
    created_at: new Date().toISOString(),
  };
  const manifestPath = join(outDir, MANIFEST_FILE);
  try {
    for (const h of hookPoints) mkdirSync(join(outDir, h), { recursive: true });
  } catch (err) {
    throw new InputError(
      `${outDir}: cannot create the activation cache folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  // A writer killed between a chunk's write and its rename left a temporary file: this generation clears it.
  for (const dir of [outDir, ...hookPoints.map((h) => join(outDir, h))]) sweepDeadTempFiles(dir);
  const existing = readManifest(outDir);
  if (existing) {
    checkSameManifest(existing, manifest, manifestPath);
    manifest.created_at = existing.created_at;
  } else {
    writeJsonAtomic(manifestPath, manifest);
  }

  let written = 0;
  let skipped = 0;
  let tokensComputed = 0;
  for (let c = 0; c < manifest.n_chunks; c++) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('activation generation aborted');
    const first = c * C;
    const count = Math.min(C, n - first);
    const done = hookPoints.every((h) => chunkComplete(chunkTensorsPath(outDir, h, c), manifest, h, count));
    if (done) {
      skipped++;
    } else {
      // A stale meta beside a chunk being rewritten would mark a half-written chunk complete.
      for (const h of hookPoints) rmSync(chunkMetaPath(chunkTensorsPath(outDir, h, c)), { force: true });
      await writeChunk(opts, manifest, c, first, count, mask);
      written++;
      tokensComputed += count * windows.seq;
    }
    opts.onProgress?.({ chunk: c, chunks: manifest.n_chunks, skipped: done, windowsDone: first + count, windows: n });
  }
  return { manifest, written, skipped, tokensComputed, seconds: (performance.now() - t0) / 1000 };
}

async function writeChunk(
  opts: GenerateCacheOptions,
  manifest: CacheManifest,
  c: number,
  first: number,
  count: number,
  mask: TokenMaskOptions,
): Promise<void> {
  const { model, windows, hookPoints, outDir } = opts;
  const S = windows.seq;
  // Per hook point: its width (the manifest's) and the chunk's activations [count, S, d].
  const outs = hookPoints.map((hook) => {
    const d = entryOf(manifest.d_model, hook, 'manifest d_model');
    return { hook, d, acts: new Float32Array(count * S * d) };
  });
  await forEachForward(
    model,
    windows,
    hookPoints,
    { start: first, end: first + count, modelBatchSize: opts.modelBatchSize },
    (part) => {
      for (const o of outs) o.acts.set(entryOf(part.acts, o.hook, 'forward pass'), (part.first - first) * S * o.d);
    },
  );
  const rows = sliceRows(windows, first, count);
  const keep = Int32Array.from(tokenMask(rows, mask)); // [count, S]
  const attention = new Int32Array(count * S); // [count, S], 0 on padding
  for (let i = 0; i < attention.length; i++)
    attention[i] = mask.padId !== undefined && mask.padId !== null && rows.ids[i] === mask.padId ? 0 : 1;
  const meta = Array.from({ length: count }, (_, i) => ({
    model_name: manifest.model,
    context_idx: opts.contextIndices ? contextIndex(opts.contextIndices, first + i) : first + i,
    dataset_name: manifest.dataset,
  }));
  for (const { hook: h, d, acts } of outs) {
    const path = chunkTensorsPath(outDir, h, c);
    writeSafetensors(path, {
      activation: { dtype: SAFETENSORS_DTYPE[manifest.dtype], shape: [count, S, d], data: acts },
      tokens: { dtype: 'I64', shape: [count, S], data: rows.ids },
      mask: { dtype: 'I32', shape: [count, S], data: keep },
      attention_mask: { dtype: 'I32', shape: [count, S], data: attention },
    });
    writeJsonAtomic(chunkMetaPath(path), meta);
  }
}

/** The dataset index of window `i` (contextIndices has one per window: checked when the generation starts). */
function contextIndex(contextIndices: ArrayLike<number>, i: number): number {
  const index = contextIndices[i];
  if (index === undefined) throw new Error(`contextIndices has no entry for window ${i}`);
  return index;
}

/** Both files present, the header has the expected tensors and shapes, the meta lists one object per window. */
function chunkComplete(path: string, manifest: CacheManifest, hook: string, count: number): boolean {
  const metaPath = chunkMetaPath(path);
  if (!existsSync(path) || !existsSync(metaPath)) return false;
  try {
    const header = readSafetensorsHeader(path);
    const S = manifest.context_size;
    const shapeIs = (name: string, shape: number[]) =>
      JSON.stringify(header.tensors.get(name)?.shape) === JSON.stringify(shape);
    const act = header.tensors.get('activation');
    const d = manifest.d_model[hook];
    if (
      !act ||
      d === undefined ||
      act.dtype !== SAFETENSORS_DTYPE[manifest.dtype] ||
      !shapeIs('activation', [count, S, d])
    )
      return false;
    if (!shapeIs('tokens', [count, S]) || !shapeIs('mask', [count, S])) return false;
    const meta: unknown = JSON.parse(readFileSync(metaPath, 'utf8'));
    return Array.isArray(meta) && meta.length === count;
  } catch {
    return false;
  }
}
