// The batches the kind trainer steps on, and where their source stands (what a checkpoint records to resume).
//
// Token kinds (crosscoder, CLT, MoLT) read shuffled token rows of all their hooks from the SAE's activation stream
// (the same shuffle groups, BOS excluded); its state() is the resume state. Sequence kinds (Lorsa) read whole
// windows — attention needs the positions — in a seeded order: pass p over the windows reads them in
// torch.randperm(n, seed + p) order, so (pass, offset) is a complete resume state, checked against a fingerprint
// of the windows and settings it was taken with.
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../../protocol/run-config';
import {
  cachedActivationStream,
  createModelActivationStream,
  type ActivationStream,
  type ActivationStreamState,
} from '../activations';
import { windowsDigest } from '../activations/fingerprint';
import { torchRandperm } from '../data/random/torch-randperm';
import { InputError } from '../errors';
import type { HookedTransformer } from '../lm/hooked-transformer';
import { sliceRows, type TokenBatch } from '../lm/token-batch';
import { hookScales, stackHooks } from './apply';
import type { DictionaryKind, KindConfigBase } from './kind';

/** A batch: x [N, nIn, d] and y [N, nOut, d] normalised; `lossRows` 1 for rows in the loss (sequence kinds: not BOS). */
export interface KindBatch {
  x: Float32Array;
  y: Float32Array;
  rows: number;
  lossRows: Float32Array | null;
}

/** Where a sequence source stands between batches. */
export interface SequenceOrderState {
  kind: 'sequence-order';
  /** Passes over the windows begun before this one; pass p reads them in torch.randperm(n, seed + p) order. */
  pass: number;
  /** Windows of this pass already read. */
  offset: number;
  batchesEmitted: number;
  /** The settings the state was taken with; a resumed source must have the same. */
  fingerprint: SequenceFingerprint;
}

export interface SequenceFingerprint {
  /** The windows read: their shape and an FNV-1a digest of their ids. */
  data: string;
  hook_points: string[];
  windows_per_batch: number;
  seed: number;
}

export type KindStreamState = ActivationStreamState | SequenceOrderState;

export interface BatchSource {
  next(): Promise<KindBatch | null>;
  /** Where the source stands, between batches: a source opened with it continues with the same batches. */
  state(): KindStreamState;
  close(): void;
}

/** The hooks a kind reads and writes, each once, in a fixed order (the stream's hook points). */
export function kindHooks(kind: DictionaryKind, cfg: KindConfigBase): string[] {
  return [...new Set([...kind.hooksIn(cfg), ...kind.hooksOut(cfg)])];
}

/** The kind's batch source for a run: new, or continuing from `state`. */
export async function openKindSource(args: {
  cfg: TrainConfig;
  kind: DictionaryKind;
  kcfg: KindConfigBase;
  model: HookedTransformer;
  windows: TokenBatch;
  state: KindStreamState | undefined;
}): Promise<BatchSource> {
  const { cfg, kind, kcfg, model, windows, state } = args;
  const hooks = kindHooks(kind, kcfg);
  const S = windows.seq;
  if (kind.needsSequences) {
    const perBatch = Math.max(1, Math.floor(cfg.batch_size / S));
    if (state !== undefined && state.kind !== 'sequence-order')
      throw new InputError(`resume state: kind '${state.kind}', expected 'sequence-order' (a ${kind.label}'s)`);
    return sequenceSource({ model, windows, kind, cfg: kcfg, perBatch, seed: cfg.seed, state });
  }
  if (state !== undefined && state.kind !== 'group-stream')
    throw new InputError(`resume state: kind '${state.kind}', expected 'group-stream' (an activation stream's)`);
  // A short run need not generate a whole shuffle group it will never use (as the sae trainer).
  const groupWindows = Math.max(1, Math.min(cfg.shuffle_windows, Math.ceil(cfg.total_training_tokens / (S - 1)) + 1));
  const stream = await (cfg.activation_cache
    ? cachedActivationStream({
        dir: cfg.activation_cache,
        hookPoints: hooks,
        batchSize: cfg.batch_size,
        seed: cfg.seed,
        expectDModel: model.cfg.dModel,
        state,
      })
    : createModelActivationStream({
        model,
        windows,
        hookPoints: hooks,
        batchSize: cfg.batch_size,
        groupWindows,
        modelBatchSize: cfg.model_batch_size,
        seed: cfg.seed,
        state,
      }));
  return tokenSource(stream, kind, kcfg);
}

function tokenSource(stream: ActivationStream, kind: DictionaryKind, cfg: KindConfigBase): BatchSource {
  return {
    async next() {
      const batch = await stream.next();
      if (!batch) return null;
      const scales: Record<string, Float64Array> = {};
      for (const h of stream.hookPoints) scales[h] = hookScales(cfg, h, batch.acts[h]!, batch.rows, stream.dims[h]!);
      return {
        x: stackHooks(kind.hooksIn(cfg), batch.acts, scales, batch.rows, cfg.d_model),
        y: stackHooks(kind.hooksOut(cfg), batch.acts, scales, batch.rows, cfg.d_model),
        rows: batch.rows,
        lossRows: null,
      };
    },
    state: () => stream.state(),
    close: () => stream.close(),
  };
}

interface SequenceSourceArgs {
  model: HookedTransformer;
  windows: TokenBatch;
  kind: DictionaryKind;
  cfg: KindConfigBase;
  perBatch: number;
  seed: number;
  state: SequenceOrderState | undefined;
}

/** Whole windows in a seeded order (a new permutation each pass), `perBatch` windows a batch. */
function sequenceSource(args: SequenceSourceArgs): BatchSource {
  const { model, windows, kind, cfg, perBatch, seed } = args;
  const hooks = kindHooks(kind, cfg);
  const S = windows.seq;
  const n = windows.batch;
  if (perBatch > n)
    throw new InputError(
      `batch_size: ${perBatch} windows of ${S} tokens a batch, but the dataset has only ${n} windows; lower batch_size or add text`,
    );
  const fingerprint: SequenceFingerprint = {
    data: `windows [${n}, ${S}] fnv1a=${windowsDigest(windows)}`,
    hook_points: hooks,
    windows_per_batch: perBatch,
    seed,
  };
  const start = args.state ? checkSequenceState(args.state, fingerprint, n) : null;
  let pass = start?.pass ?? 0;
  let at = start?.offset ?? 0;
  let batches = start?.batchesEmitted ?? 0;
  let order = torchRandperm(n, seed + pass);
  return {
    async next() {
      if (at + perBatch > n) {
        pass += 1;
        order = torchRandperm(n, seed + pass);
        at = 0;
      }
      const ids = new Int32Array(perBatch * S);
      for (let w = 0; w < perBatch; w++) ids.set(sliceRows(windows, order[at + w]!, 1).ids, w * S);
      at += perBatch;
      batches += 1;
      const out = model.forward({ ids, batch: perBatch, seq: S }, { cache: hooks, logits: false });
      const acts: Record<string, Float32Array> = {};
      for (const h of hooks) acts[h] = (await out.cache[h]!.data()) as Float32Array;
      tf.dispose(Object.values(out.cache));
      const rows = perBatch * S;
      const scales: Record<string, Float64Array> = {};
      for (const h of hooks) scales[h] = hookScales(cfg, h, acts[h]!, rows, acts[h]!.length / rows);
      const lossRows = new Float32Array(rows).map((_, r) => (r % S === 0 ? 0 : 1));
      return {
        x: stackHooks(kind.hooksIn(cfg), acts, scales, rows, cfg.d_model),
        y: stackHooks(kind.hooksOut(cfg), acts, scales, rows, cfg.d_model),
        rows,
        lossRows,
      };
    },
    state: () => ({
      kind: 'sequence-order',
      pass,
      offset: at,
      batchesEmitted: batches,
      fingerprint: structuredClone(fingerprint),
    }),
    close: () => {},
  };
}

/** A sequence source's resume state, checked field by field against this source's settings. */
function checkSequenceState(state: SequenceOrderState, now: SequenceFingerprint, n: number): SequenceOrderState {
  const old = state.fingerprint as Partial<SequenceFingerprint> | undefined;
  for (const key of Object.keys(now) as (keyof SequenceFingerprint)[]) {
    const a = JSON.stringify(old?.[key]);
    const b = JSON.stringify(now[key]);
    if (a !== b)
      throw new InputError(
        `resume state: ${key} was ${a} when the state was taken, this source has ${b}; resume with the same settings`,
      );
  }
  const count = (v: unknown, max: number) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max;
  if (!count(state.pass, Number.MAX_SAFE_INTEGER))
    throw new InputError(`resume state: pass ${state.pass}, expected an integer ≥ 0`);
  if (!count(state.offset, n)) throw new InputError(`resume state: offset ${state.offset}, expected 0..${n}`);
  if (!count(state.batchesEmitted, Number.MAX_SAFE_INTEGER))
    throw new InputError(`resume state: batchesEmitted ${state.batchesEmitted}, expected an integer ≥ 0`);
  return state;
}
