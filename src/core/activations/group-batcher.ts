// Turns a sequence of row groups into fixed-size batches: group g's rows are permuted by a Fisher–Yates shuffle
// seeded from (seed, g) alone, the groups' permuted rows are laid end to end, and batches are consecutive slices
// of that sequence (a batch may take a group's last rows and the next group's first ones). Because a group's
// order depends on nothing else, the position (group, offset) is a complete resume state: a resumed stream
// reloads that one group and continues bit for bit.
import { InputError } from '../errors';
import { torchRandperm } from '../data/random/torch-randperm';
import type { ActivationBatch, ActivationStream, ActivationStreamState, StreamFingerprint } from './types';
import { entryOf } from '../util/lookup';
import { gatherRows } from './row-gather';

/** One group's kept token rows, in window-major order (not yet shuffled). */
export interface RowGroup {
  rows: number;
  /** Per hook: [rows, d]. */
  acts: Record<string, Float32Array>;
  /** [rows, 2]: window, position. */
  origin: Int32Array;
}

/**
 * Arrays for a group of `rows` rows: views of a spent group's buffers where they have room (one group in memory, not
 * two while the old one waits for the collector), else new ones.
 */
export function groupArrays(
  rows: number,
  widths: Readonly<Record<string, number>>,
  recycle?: RowGroup,
): { acts: Record<string, Float32Array>; origin: Int32Array } {
  const room = (old: Float32Array | Int32Array | undefined, n: number) => old && old.buffer.byteLength >= n * 4;
  const acts: Record<string, Float32Array> = {};
  for (const [hook, d] of Object.entries(widths)) {
    const old = recycle?.acts[hook];
    acts[hook] = room(old, rows * d) ? new Float32Array(old!.buffer, 0, rows * d) : new Float32Array(rows * d);
  }
  const old = recycle?.origin;
  const origin = room(old, rows * 2) ? new Int32Array(old!.buffer, 0, rows * 2) : new Int32Array(rows * 2);
  return { acts, origin };
}

export interface GroupBatcherOptions {
  fingerprint: StreamFingerprint;
  dims: Record<string, number>;
  nGroups: number;
  /**
   * Group `group`'s rows. `recycle`, when given, is the previous group, no longer used: the loader may read into
   * its arrays (every batch handed out holds copies, never views of a group).
   */
  loadGroup: (group: number, recycle?: RowGroup) => Promise<RowGroup>;
  resume?: ActivationStreamState;
  /** Called by close(), e.g. to release what the loader holds. */
  onClose?: () => void;
}

/** A 32-bit seed for group g, so that each group's permutation depends only on (seed, g). */
export function groupSeed(seed: number, group: number): number {
  let h = (seed ^ Math.imul(group + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class GroupBatcher implements ActivationStream {
  readonly hookPoints: string[];
  readonly dims: Readonly<Record<string, number>>;
  private group: number;
  private offset: number;
  private emitted: number;
  private batches: number;
  private loaded: { index: number; rows: RowGroup; order: Int32Array | null } | null = null;
  /** The last group consumed, whose arrays the next load may reuse. */
  private spent: RowGroup | undefined;
  /** The arrays of a batch its caller released (release()): the next batch is written into them. */
  private spare: { acts: Record<string, Float32Array>; origin: Int32Array } | null = null;
  private closed = false;

  constructor(private readonly opts: GroupBatcherOptions) {
    const fp = opts.fingerprint;
    this.hookPoints = [...fp.hook_points];
    this.dims = { ...opts.dims };
    const start = opts.resume;
    if (start) checkResume(start, fp, opts.nGroups);
    this.group = start?.group ?? 0;
    this.offset = start?.offset ?? 0;
    this.emitted = start?.tokensEmitted ?? 0;
    this.batches = start?.batchesEmitted ?? 0;
  }

  get dModel(): number {
    const [first] = this.hookPoints;
    if (first === undefined) throw new Error('activation stream without hook points');
    return entryOf(this.dims, first, 'hook widths');
  }

  get tokensEmitted(): number {
    return this.emitted;
  }

  state(): ActivationStreamState {
    return {
      kind: 'group-stream',
      group: this.group,
      offset: this.offset,
      tokensEmitted: this.emitted,
      batchesEmitted: this.batches,
      fingerprint: structuredClone(this.opts.fingerprint),
    };
  }

  async next(): Promise<ActivationBatch | null> {
    if (this.closed) throw new Error('activation stream used after close()');
    const { batch_size: size, drop_last: dropLast } = this.opts.fingerprint;
    // Per hook point: its width and the batch's rows [batch, d], in the arrays of a released batch when there is one.
    const spare = this.spare;
    this.spare = null;
    const outs = this.hookPoints.map((hook) => {
      const d = entryOf(this.dims, hook, 'hook widths');
      return { hook, d, acts: spare?.acts[hook] ?? new Float32Array(size * d) };
    });
    const origin = spare?.origin ?? new Int32Array(size * 2);
    let filled = 0;
    // Consumption is tracked apart from the stream's position so an ended stream keeps the state it reached.
    let group = this.group;
    let offset = this.offset;
    while (filled < size && group < this.opts.nGroups) {
      const g = await this.load(group);
      if (offset > g.rows.rows)
        throw new InputError(`resume state: offset ${offset} is past group ${group}'s ${g.rows.rows} rows`);
      const take = Math.min(size - filled, g.rows.rows - offset);
      for (const o of outs)
        gatherRows(entryOf(g.rows.acts, o.hook, 'activation group'), o.acts, o.d, g.order, offset, filled, take);
      gatherRows(g.rows.origin, origin, 2, g.order, offset, filled, take);
      filled += take;
      offset += take;
      if (offset >= g.rows.rows) {
        group += 1;
        offset = 0;
        this.spent = g.rows;
        this.loaded = null;
      }
    }
    if (filled === 0 || (filled < size && dropLast)) {
      // Nothing more will come: the position moves to the end so that later calls (and a resume) stop at once.
      this.group = this.opts.nGroups;
      this.offset = 0;
      this.loaded = null;
      return null;
    }
    this.group = group;
    this.offset = offset;
    this.emitted += filled;
    this.batches += 1;
    if (filled === size) return { acts: Object.fromEntries(outs.map((o) => [o.hook, o.acts])), rows: size, origin };
    return {
      acts: Object.fromEntries(outs.map((o) => [o.hook, o.acts.slice(0, filled * o.d)])),
      rows: filled,
      origin: origin.slice(0, filled * 2),
    };
  }

  /** A full batch of this stream that its caller is done with: the next batch is written into its arrays. */
  release(batch: ActivationBatch): void {
    const size = this.opts.fingerprint.batch_size;
    const ours =
      batch.rows === size &&
      batch.origin?.length === size * 2 &&
      this.hookPoints.every((h) => batch.acts[h]?.length === size * entryOf(this.dims, h, 'hook widths'));
    if (ours && !this.closed) this.spare = { acts: batch.acts, origin: batch.origin! };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.loaded = null;
    this.spent = undefined;
    this.spare = null;
    this.opts.onClose?.();
  }

  private async load(index: number): Promise<{ rows: RowGroup; order: Int32Array | null }> {
    if (this.loaded?.index === index) return this.loaded;
    const spent = this.spent;
    this.spent = undefined;
    const rows = await this.opts.loadGroup(index, spent);
    const { seed, shuffle } = this.opts.fingerprint;
    const order = shuffle ? torchRandperm(rows.rows, groupSeed(seed, index)) : null;
    this.loaded = { index, rows, order };
    return this.loaded;
  }
}

function checkResume(state: ActivationStreamState, fp: StreamFingerprint, nGroups: number): void {
  if (!state || state.kind !== 'group-stream' || !state.fingerprint) {
    throw new InputError(
      `resume state: kind '${(state as { kind?: unknown })?.kind}', expected the state() of an activation stream ('group-stream')`,
    );
  }
  const old = state.fingerprint;
  for (const key of Object.keys(fp) as (keyof StreamFingerprint)[]) {
    const a = JSON.stringify(old[key]);
    const b = JSON.stringify(fp[key]);
    if (a !== b)
      throw new InputError(
        `resume state: ${key} was ${a} when the state was taken, this stream has ${b}; resume with the same settings`,
      );
  }
  const intOk = (v: number) => Number.isSafeInteger(v) && v >= 0;
  if (!intOk(state.group) || state.group > nGroups)
    throw new InputError(`resume state: group ${state.group}, expected 0..${nGroups}`);
  if (!intOk(state.offset)) throw new InputError(`resume state: offset ${state.offset}, expected an integer ≥ 0`);
  if (!intOk(state.tokensEmitted) || !intOk(state.batchesEmitted))
    throw new InputError('resume state: tokensEmitted and batchesEmitted must be integers ≥ 0');
}
