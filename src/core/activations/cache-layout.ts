// The on-disk activation cache, in lm-saes's layout (ActivationWriter / CachedActivationLoader):
// `<dir>/<hook>/chunk-NNNNNNNN.safetensors` holding `activation` [n_samples, n_context, d] (the model's dtype),
// `tokens` [n_samples, n_context] (I64), `mask` and `attention_mask` [n_samples, n_context] (I32), and beside it
// `chunk-NNNNNNNN.meta.json`, a JSON list with one object per sample ({model_name, context_idx, dataset_name}).
// lm-saes has no top-level file; ours, `manifest.json`, says what the cache holds and is checked on resume and read.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors';
import { writeFileAtomic } from '../util/atomic-file';

export const CACHE_FORMAT = 'sae-studio/activation-cache@1';
export const MANIFEST_FILE = 'manifest.json';
export const CACHE_DTYPES = ['float32', 'float16', 'bfloat16'] as const;
export type CacheDtype = (typeof CACHE_DTYPES)[number];
export const SAFETENSORS_DTYPE: Record<CacheDtype, 'F32' | 'F16' | 'BF16'> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
};

export interface CacheManifest {
  format: typeof CACHE_FORMAT;
  model: string;
  dataset: string;
  hook_points: string[];
  /** Width of each hook point's activation. */
  d_model: Record<string, number>;
  /** Tokens per window (lm-saes context_size). */
  context_size: number;
  dtype: CacheDtype;
  n_windows: number;
  /** Windows per chunk (lm-saes n_samples_per_chunk). */
  n_samples_per_chunk: number;
  n_chunks: number;
  /** The token mask stored in each chunk's `mask`, as canonical JSON. */
  mask: string;
  /** FNV-1a of the windows' ids: a resumed generation must cut the same windows. */
  windows_digest: string;
  created_at: string;
}

/** Fields a resumed generation (and a reader) must agree on, in the order they are checked. */
export const MANIFEST_IDENTITY = [
  'format',
  'model',
  'dataset',
  'hook_points',
  'd_model',
  'context_size',
  'dtype',
  'n_windows',
  'n_samples_per_chunk',
  'mask',
  'windows_digest',
] as const;

export function chunkName(index: number, shard: number | null = null): string {
  const id = `chunk-${String(index).padStart(8, '0')}`;
  return shard === null ? id : `shard-${shard}-${id}`;
}

export const chunkTensorsPath = (dir: string, hook: string, index: number) =>
  join(dir, hook, `${chunkName(index)}.safetensors`);
/** lm-saes derives it with Path.with_suffix('.meta.json'): `chunk-N.safetensors` → `chunk-N.meta.json`. */
export const chunkMetaPath = (tensorsPath: string) => tensorsPath.replace(/\.safetensors$/, '.meta.json');

export interface ChunkFile {
  path: string;
  shard: number;
  chunk: number;
}

/** Chunk files of one hook folder, ordered like lm-saes (shard, then chunk); `shard-S-chunk-N` and `chunk-N`. */
export function listChunkFiles(hookDir: string): ChunkFile[] {
  if (!existsSync(hookDir)) return [];
  const out: ChunkFile[] = [];
  for (const name of readdirSync(hookDir)) {
    const m = /^(?:shard-(\d+)-)?chunk-(\d+)\.safetensors$/.exec(name);
    if (m) out.push({ path: join(hookDir, name), shard: m[1] === undefined ? 0 : Number(m[1]), chunk: Number(m[2]) });
  }
  return out.sort((a, b) => a.shard - b.shard || a.chunk - b.chunk);
}

export function checkHookDirName(hook: string): void {
  if (!/^[A-Za-z0-9_.]+$/.test(hook) || hook.startsWith('.')) {
    throw new InputError(
      `hook point '${hook}': cannot name a cache folder, expected letters, digits, '_' and '.' (e.g. blocks.2.hook_resid_post)`,
    );
  }
}

export function readManifest(dir: string): CacheManifest | null {
  const file = join(dir, MANIFEST_FILE);
  if (!existsSync(file)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(`${file}: not valid JSON (${(err as Error).message}), expected an activation cache manifest`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`${file}: expected a JSON object`);
  const m = raw as Record<string, unknown>;
  const want = (field: string, ok: boolean, expected: string) => {
    if (!ok) throw new InputError(`${file}: field '${field}' is ${JSON.stringify(m[field])}, expected ${expected}`);
  };
  want('format', m.format === CACHE_FORMAT, `'${CACHE_FORMAT}'`);
  for (const f of ['model', 'dataset', 'mask', 'windows_digest', 'created_at'])
    want(f, typeof m[f] === 'string', 'a string');
  want(
    'hook_points',
    Array.isArray(m.hook_points) && m.hook_points.length > 0 && m.hook_points.every((h) => typeof h === 'string'),
    'a list of hook names',
  );
  const dims = m.d_model as Record<string, unknown>;
  want(
    'd_model',
    !!dims && typeof dims === 'object' && (m.hook_points as string[]).every((h) => isCount(dims[h])),
    'an object with a width for each hook point',
  );
  for (const f of ['context_size', 'n_windows', 'n_samples_per_chunk', 'n_chunks'])
    want(f, isCount(m[f]), 'an integer ≥ 1');
  want('dtype', (CACHE_DTYPES as readonly unknown[]).includes(m.dtype), `one of ${CACHE_DTYPES.join(', ')}`);
  const manifest = m as unknown as CacheManifest;
  want(
    'n_chunks',
    manifest.n_chunks === Math.ceil(manifest.n_windows / manifest.n_samples_per_chunk),
    'ceil(n_windows / n_samples_per_chunk)',
  );
  return manifest;
}

/** An existing manifest must describe the same generation; the first differing field is named. */
export function checkSameManifest(found: CacheManifest, wanted: CacheManifest, file: string): void {
  for (const field of MANIFEST_IDENTITY) {
    const a = JSON.stringify(found[field]);
    const b = JSON.stringify(wanted[field]);
    if (a !== b) {
      throw new InputError(
        `${file}: field '${field}' is ${a}, this generation has ${b}; use another output folder or the same settings to resume`,
      );
    }
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value));
}

function isCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}
