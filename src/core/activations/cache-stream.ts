// Reads an activation cache (ours, or one lm-saes wrote) as an ActivationStream: a shuffle group is a run of
// `groupChunks` chunks; its kept rows (the stored `mask`, or a mask recomputed from `tokens`) are shuffled and
// batched exactly like the model stream's, so a cache generated with chunk_size = group_windows yields the same
// batches as the model stream with the same seed. Every chunk's header is checked up front.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../errors';
import { keptPositions, tokenMask, type TokenMaskOptions } from '../data/masks';
import { openSafetensors, readSafetensorsHeader, type SafetensorsFile } from '../tensor/safetensors';
import {
  MANIFEST_FILE,
  chunkMetaPath,
  chunkName,
  listChunkFiles,
  readManifest,
  type CacheManifest,
} from './cache-layout';
import { GroupBatcher, type RowGroup } from './group-batcher';
import { checkCount, checkHookPoints, checkSeed } from './checks';
import { maskKey } from './fingerprint';
import type { ActivationStream, ActivationStreamState } from './types';
import { entryOf } from '../util/lookup';

export interface CachedStreamOptions {
  dir: string;
  hookPoints: string[];
  batchSize: number;
  seed: number;
  /** Chunks per shuffle group (default 1). */
  groupChunks?: number;
  shuffle?: boolean;
  dropLast?: boolean;
  state?: ActivationStreamState;
  /** The width every hook must have (or one per hook); a mismatch is an error naming the hook. */
  expectDModel?: number | Record<string, number>;
  /** Recompute the mask from the stored tokens instead of using the stored `mask`. */
  mask?: TokenMaskOptions;
}

interface Chunk {
  /** Per hook, the chunk file. */
  files: Record<string, string>;
  windows: number;
  /** Index of its first window among all the cache's windows. */
  firstWindow: number;
}

export async function cachedActivationStream(opts: CachedStreamOptions): Promise<ActivationStream> {
  const dir = resolve(opts.dir);
  checkHookPoints(opts.hookPoints);
  checkCount(opts.batchSize, 'batch_size');
  checkCount(opts.groupChunks ?? 1, 'group_chunks');
  checkSeed(opts.seed);
  if (!existsSync(dir)) throw new InputError(`${dir}: no such activation cache folder`);
  const manifest = readManifest(dir);
  if (manifest) {
    for (const h of opts.hookPoints) {
      if (!manifest.hook_points.includes(h))
        throw new InputError(
          `${join(dir, MANIFEST_FILE)}: hook point '${h}' is not cached (field 'hook_points' is ${JSON.stringify(manifest.hook_points)})`,
        );
    }
  }
  const { chunks, dims, seq } = scanChunks(dir, opts.hookPoints, manifest);
  // scanChunks refuses a hook point without chunks, so there is a first one.
  const [firstChunk] = chunks;
  if (!firstChunk) throw new InputError(`${dir}: no activation chunks`);
  for (const h of opts.hookPoints) {
    const want = typeof opts.expectDModel === 'number' ? opts.expectDModel : opts.expectDModel?.[h];
    if (want !== undefined && want !== dims[h]) {
      throw new InputError(`${firstChunk.files[h]}: activations of '${h}' have d_model ${dims[h]}, expected ${want}`);
    }
  }
  const groupChunks = opts.groupChunks ?? 1;
  const nWindows = chunks.reduce((n, c) => n + c.windows, 0);
  // lm-saes caches written before it stored `mask` get the default mask (all but position 0).
  const readMask = (ids: Int32Array, file: SafetensorsFile, windows: number): Uint8Array =>
    opts.mask || !file.has('mask')
      ? tokenMask({ ids, batch: windows, seq }, opts.mask ?? {})
      : Uint8Array.from(file.readInt32('mask'), (v) => (v ? 1 : 0));
  return new GroupBatcher({
    fingerprint: {
      source: 'cache',
      data: `${dir} model=${manifest?.model ?? '?'} dataset=${manifest?.dataset ?? '?'} chunks=${chunks.length}`,
      mask: opts.mask ? maskKey(opts.mask) : 'stored',
      hook_points: [...opts.hookPoints],
      batch_size: opts.batchSize,
      seed: opts.seed,
      shuffle: opts.shuffle ?? true,
      group_windows: groupChunks * (manifest?.n_samples_per_chunk ?? firstChunk.windows),
      n_windows: nWindows,
      drop_last: opts.dropLast ?? true,
    },
    dims,
    nGroups: Math.ceil(chunks.length / groupChunks),
    loadGroup: async (g) =>
      loadGroup(chunks.slice(g * groupChunks, (g + 1) * groupChunks), opts.hookPoints, dims, seq, readMask),
    resume: opts.state,
  });
}

type MaskReader = (ids: Int32Array, file: SafetensorsFile, windows: number) => Uint8Array;

function loadGroup(
  chunks: Chunk[],
  hooks: string[],
  dims: Record<string, number>,
  seq: number,
  readMask: MaskReader,
): RowGroup {
  const parts = chunks.map((c) => loadChunk(c, hooks, dims, seq, readMask));
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const [only] = parts;
  if (only && parts.length === 1) return only;
  const acts: Record<string, Float32Array> = {};
  for (const h of hooks)
    acts[h] = concat(
      parts.map((p) => entryOf(p.acts, h, 'activation chunk')),
      rows * entryOf(dims, h, 'hook widths'),
      Float32Array,
    );
  return {
    rows,
    acts,
    origin: concat(
      parts.map((p) => p.origin),
      rows * 2,
      Int32Array,
    ),
  };
}

function loadChunk(
  chunk: Chunk,
  hooks: string[],
  dims: Record<string, number>,
  seq: number,
  readMask: MaskReader,
): RowGroup {
  // The first hook's file gives the chunk's tokens and kept positions; every other hook's must have the same tokens.
  let first: { tokens: Int32Array; kept: { window: Int32Array; position: Int32Array } } | null = null;
  const acts: Record<string, Float32Array> = {};
  for (const h of hooks) {
    const path = entryOf(chunk.files, h, 'chunk files');
    let file: SafetensorsFile | undefined;
    try {
      file = openSafetensors(path);
      const ids = file.readInt32('tokens'); // [windows, S]
      if (!first) {
        first = { tokens: ids, kept: keptPositions(readMask(ids, file, chunk.windows), seq) };
      } else if (!sameIds(first.tokens, ids)) {
        throw new InputError(
          `${path}: tokens differ from those of '${hooks[0]}' for the same chunk, expected identical tokens for every hook point`,
        );
      }
      const { kept } = first;
      const full = file.readFloat32('activation'); // [windows, S, d]
      const d = entryOf(dims, h, 'hook widths');
      const out = new Float32Array(kept.window.length * d); // [rows, d]
      for (let i = 0; i < kept.window.length; i++) {
        const src = kept.window[i]! * seq + kept.position[i]!;
        out.set(full.subarray(src * d, (src + 1) * d), i * d);
      }
      acts[h] = out;
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(`${path}: cannot read the activation chunk (${(err as Error).message})`);
    } finally {
      file?.close();
    }
  }
  if (!first) throw new Error('loadChunk: no hook points');
  const { kept } = first;
  const n = kept.window.length;
  const origin = new Int32Array(n * 2);
  for (let i = 0; i < n; i++) {
    origin[2 * i] = chunk.firstWindow + kept.window[i]!;
    origin[2 * i + 1] = kept.position[i]!;
  }
  return { rows: n, acts, origin };
}

/** Lists and header-checks every chunk of every hook; chunks must line up across hooks. */
function scanChunks(
  dir: string,
  hooks: string[],
  manifest: CacheManifest | null,
): { chunks: Chunk[]; dims: Record<string, number>; seq: number } {
  const lists = hooks.map((hook) => ({ hook, files: listChunkFiles(join(dir, hook)) }));
  for (const { hook: h, files } of lists) {
    if (files.length === 0)
      throw new InputError(
        `${join(dir, h)}: no activation chunks (chunk-NNNNNNNN.safetensors), expected a cache generated for '${h}'`,
      );
  }
  const counts = lists.map((l) => l.files.length);
  if (new Set(counts).size > 1) {
    throw new InputError(
      `${dir}: hook points have different numbers of chunks (${lists.map((l) => `${l.hook}: ${l.files.length}`).join(', ')}), expected the same for all`,
    );
  }
  if (manifest) {
    lists.forEach(({ hook: h, files: list }) => {
      const ids = new Set(list.filter((f) => f.shard === 0).map((f) => f.chunk));
      for (let c = 0; c < manifest.n_chunks; c++) {
        if (!ids.has(c)) {
          throw new InputError(
            `${join(dir, h, `${chunkName(c)}.safetensors`)}: missing, the cache is incomplete (${manifest.n_chunks} chunks expected); run generate again to finish it`,
          );
        }
      }
      if (list.length !== manifest.n_chunks) {
        throw new InputError(
          `${join(dir, h)}: ${list.length} chunk files, expected ${manifest.n_chunks} (field 'n_chunks' of ${MANIFEST_FILE})`,
        );
      }
    });
  }
  const dims: Record<string, number> = {};
  let seq = manifest?.context_size ?? -1;
  const chunks: Chunk[] = [];
  let firstWindow = 0;
  const count = counts[0] ?? 0; // every hook point has this many (checked above)
  for (let c = 0; c < count; c++) {
    const files: Record<string, string> = {};
    let windows = -1;
    lists.forEach(({ hook: h, files: list }) => {
      const file = list[c];
      if (!file) throw new Error(`scanChunks: ${h} has no chunk ${c}`);
      const path = file.path;
      files[h] = path;
      const [n, S, d] = checkChunkHeader(path, manifest !== null);
      if (seq < 0) seq = S;
      if (S !== seq) throw new InputError(`${path}: windows of ${S} tokens, expected ${seq} (context_size)`);
      const width = manifest?.d_model[h] ?? dims[h] ?? d;
      if (d !== width)
        throw new InputError(`${path}: activation width (d_model) ${d}, expected ${width} like the rest of the cache`);
      dims[h] = d;
      if (windows >= 0 && n !== windows)
        throw new InputError(`${path}: ${n} windows, expected ${windows} like the same chunk of '${hooks[0]}'`);
      windows = n;
      if (manifest) {
        const want = Math.min(manifest.n_samples_per_chunk, manifest.n_windows - c * manifest.n_samples_per_chunk);
        if (n !== want)
          throw new InputError(
            `${path}: ${n} windows, expected ${want} (n_samples_per_chunk ${manifest.n_samples_per_chunk} of ${manifest.n_windows})`,
          );
      }
    });
    chunks.push({ files, windows, firstWindow });
    firstWindow += windows;
  }
  return { chunks, dims, seq };
}

/** [n_samples, n_context, d] of `activation`, checked against `tokens` (and `mask`, and the meta file, for our caches). */
function checkChunkHeader(path: string, ours: boolean): [number, number, number] {
  let header;
  try {
    header = readSafetensorsHeader(path);
  } catch (err) {
    throw new InputError(
      `${path}: corrupt or truncated activation chunk (${(err as Error).message}); delete it and run generate again`,
    );
  }
  const act = header.tensors.get('activation');
  const tok = header.tensors.get('tokens');
  if (!act || act.shape.length !== 3)
    throw new InputError(
      `${path}: tensor 'activation' ${act ? `has shape [${act.shape.join(', ')}]` : 'is missing'}, expected [n_samples, n_context, d_model]`,
    );
  const [n, S, d] = act.shape as [number, number, number];
  if (!tok || JSON.stringify(tok.shape) !== JSON.stringify([n, S]))
    throw new InputError(
      `${path}: tensor 'tokens' ${tok ? `has shape [${tok.shape.join(', ')}]` : 'is missing'}, expected [${n}, ${S}]`,
    );
  if (ours) {
    const mask = header.tensors.get('mask');
    if (!mask || JSON.stringify(mask.shape) !== JSON.stringify([n, S]))
      throw new InputError(`${path}: tensor 'mask' is missing or not [${n}, ${S}]`);
    if (!existsSync(chunkMetaPath(path)))
      throw new InputError(`${chunkMetaPath(path)}: missing, the chunk is incomplete; run generate again to finish it`);
  }
  return [n, S, d];
}

function sameIds(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function concat<T extends Float32Array | Int32Array>(parts: T[], length: number, Ctor: new (n: number) => T): T {
  const out = new Ctor(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
