// The kept token rows of one forward pass over the windows, spooled to disk losslessly (float32, window-major,
// one file per hook point) so that a second reader — the training stream after the statistics pass, the feature
// analysis after training — reads them back instead of running the model again. The rows are bit-identical to a
// live pass's: they are what that pass computed. The spool is scratch: its folder is removed by dispose().
// Writes run in the background (the disk write of one pass overlaps the next forward pass), each at its own offset,
// with a bounded number of bytes in flight; a failed write (a full disk) fails the next append or flush. The row
// files use direct I/O where the system allows it (direct-file.ts: the page cache would cost more CPU than the
// rows' own copy), the small position file the page cache.
import { closeSync, mkdirSync, openSync, readSync, rmSync, statfsSync, write } from 'node:fs';
import { join } from 'node:path';
import type { TokenMaskOptions } from '../data/masks';
import type { TokenBatch } from '../lm/token-batch';
import { entryOf } from '../util/lookup';
import { openDirect, type DirectFile } from './direct-file';
import { maskKey, windowsDigest } from './fingerprint';
import { groupArrays, type RowGroup } from './group-batcher';

/** What a spool was made from: a reader with other windows, mask or hook points must not use it. */
export interface SpoolKey {
  windows: string;
  mask: string;
  hookPoints: string[];
}

export function spoolKey(windows: TokenBatch, mask: TokenMaskOptions, hookPoints: readonly string[]): SpoolKey {
  return {
    windows: `[${windows.batch}, ${windows.seq}] ${windowsDigest(windows)}`,
    mask: maskKey(mask),
    hookPoints: [...hookPoints],
  };
}

/** Bytes free on the file system holding `dir` (its nearest existing parent). */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Bytes of rows written in the background at most: an append waits while more are in flight (4 passes of 4 MB). */
const MAX_PENDING_BYTES = 16 * 2 ** 20;

export class RowSpool {
  /** Windows [0, coveredWindows) are in the spool, whole. */
  private covered = 0;
  /** rowStart[w]: the first row of window w (w ≤ coveredWindows). */
  private rowStart: number[] = [0];
  private readonly fds: Record<string, number> = {};
  /** The hook files opened for direct I/O (the others use the page cache). */
  private readonly direct: Record<string, DirectFile> = {};
  private readonly positionFd: number;
  private disposed = false;
  /** Bytes handed to fs.write and not yet written. */
  private pending = 0;
  /** The first write error: every later append, flush and read throws it. */
  private failure: Error | null = null;
  /** Appends and flushes waiting for the bytes in flight to drop to their limit. */
  private waiters: { limit: number; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(
    readonly dir: string,
    readonly key: SpoolKey,
    readonly dims: Readonly<Record<string, number>>,
  ) {
    mkdirSync(dir, { recursive: true });
    for (const h of key.hookPoints) {
      const path = join(dir, `${safeName(h)}.f32`);
      const direct = openDirect(path);
      if (direct) this.direct[h] = direct;
      this.fds[h] = direct?.fd ?? openSync(path, 'w+');
    }
    this.positionFd = openSync(join(dir, 'position.i32'), 'w+');
  }

  /** Whether append() has copied the rows by the time it returns (every row file direct: they are staged), so the
   * caller may reuse the group's arrays at once; otherwise the background writes read them until flush(). */
  get copiesOnAppend(): boolean {
    return this.key.hookPoints.every((h) => this.direct[h] !== undefined);
  }

  get coveredWindows(): number {
    return this.covered;
  }

  get rows(): number {
    return this.rowStart[this.covered]!;
  }

  /**
   * Appends the rows of whole windows [first, first + windows); `first` must be coveredWindows. The rows are
   * written in the background: the group's arrays must not change afterwards. Resolves once the bytes in flight
   * are within their limit; rejects with the error of a write that failed.
   */
  append(first: number, windows: number, group: RowGroup): Promise<void> {
    this.check();
    if (first !== this.covered) throw new Error(`row spool: windows from ${first} appended after ${this.covered}`);
    const position = new Int32Array(group.rows);
    const perWindow = new Int32Array(windows);
    for (let r = 0; r < group.rows; r++) {
      const w = group.origin[2 * r]! - first;
      if (w < 0 || w >= windows) throw new Error(`row spool: row ${r} of window ${w + first} is outside the append`);
      perWindow[w]! += 1;
      position[r] = group.origin[2 * r + 1]!;
    }
    const base = this.rows;
    for (const h of this.key.hookPoints) {
      const d = entryOf(this.dims, h, 'hook widths');
      const rows = entryOf(group.acts, h, 'activation group').subarray(0, group.rows * d);
      const direct = this.direct[h];
      if (direct) direct.append(asBytes(rows), this.submit);
      else this.write(this.fds[h]!, rows, base * d);
    }
    this.write(this.positionFd, position, base);
    for (const n of perWindow) this.rowStart.push(this.rowStart[this.rowStart.length - 1]! + n);
    this.covered += windows;
    return this.drain(MAX_PENDING_BYTES);
  }

  /** Resolves when every appended row is on disk (in the page cache); rejects with a failed write's error. */
  flush(): Promise<void> {
    this.check();
    for (const f of Object.values(this.direct)) f.flush(this.submit);
    return this.drain(0);
  }

  /** The rows of windows [start, end), window-major with their origins; null when they are not all spooled. */
  read(start: number, end: number, recycle?: RowGroup): RowGroup | null {
    this.check();
    this.checkReadable();
    if (start < 0 || end > this.covered || end < start) return null;
    const r0 = this.rowStart[start]!;
    const rows = this.rowStart[end]! - r0;
    // A group no longer used (`recycle`) lends its arrays where they are large enough.
    const into = groupArrays(rows, this.dims, recycle);
    const acts: Record<string, Float32Array> = {};
    for (const h of this.key.hookPoints) {
      const d = entryOf(this.dims, h, 'hook widths');
      acts[h] = this.readRows(h, entryOf(into.acts, h, 'group arrays'), r0 * d); // [rows, d]
    }
    const position = readAll(this.positionFd, new Int32Array(rows), r0);
    const origin = into.origin; // [rows, 2]: window, position
    for (let w = start, r = 0; w < end; w++) {
      for (; r < this.rowStart[w + 1]! - r0; r++) {
        origin[2 * r] = w;
        origin[2 * r + 1] = position[r]!;
      }
    }
    return { rows, acts, origin };
  }

  /**
   * One hook point's rows of windows [start, end) ([rows, d]), read into `into` when it is large enough (a view of
   * it is returned); null when they are not all spooled. For readers that need neither origins nor fresh arrays.
   */
  readHook(hook: string, start: number, end: number, into?: Float32Array): Float32Array | null {
    this.check();
    this.checkReadable();
    if (start < 0 || end > this.covered || end < start) return null;
    const r0 = this.rowStart[start]!;
    const n = (this.rowStart[end]! - r0) * entryOf(this.dims, hook, 'hook widths');
    const out = into && into.length >= n ? into.subarray(0, n) : new Float32Array(n);
    return this.readRows(hook, out, r0 * entryOf(this.dims, hook, 'hook widths'));
  }

  /** Whether this spool holds the rows a reader with these windows, mask and hook point wants. */
  serves(key: SpoolKey, hook: string): boolean {
    return key.windows === this.key.windows && key.mask === this.key.mask && this.key.hookPoints.includes(hook);
  }

  /** Removes the folder and closes the files (once writes still in flight have ended: their fds stay theirs). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    rmSync(this.dir, { recursive: true, force: true });
    if (this.pending === 0) this.close();
  }

  private close(): void {
    for (const fd of [...Object.values(this.fds), this.positionFd]) closeSync(fd);
  }

  private check(): void {
    if (this.disposed) throw new Error('row spool used after dispose()');
    if (this.failure) throw this.failure;
  }

  /** Reads see only rows on disk: none in flight, none still staged for a direct write (flush() writes both). */
  private checkReadable(): void {
    if (this.pending > 0 || Object.values(this.direct).some((f) => f.length > f.flushed))
      throw new Error('row spool: read while rows are still being written (await flush() first)');
  }

  /** Fills `a` with one hook's values from element offset `at` (elements of 4 bytes). */
  private readRows(hook: string, a: Float32Array, at: number): Float32Array {
    const direct = this.direct[hook];
    if (!direct) return readAll(this.fds[hook]!, a, at);
    direct.read(asBytes(a), at * 4);
    return a;
  }

  /** Writes all of `a` at element offset `at` (elements of 4 bytes) in the background. */
  private write(fd: number, a: Float32Array | Int32Array, at: number): void {
    this.submit(fd, asBytes(a), at * 4, () => {});
  }

  /** Writes `bytes` at byte offset `at` in the background, counted in flight until it has ended; then `done`. */
  private readonly submit = (fd: number, bytes: Uint8Array, at: number, done: () => void): void => {
    if (bytes.length === 0) return done();
    this.pending += bytes.length;
    const from = (written: number): void =>
      write(fd, bytes, written, Math.min(bytes.length - written, 1 << 30), at + written, (err, n) => {
        if (!err && written + n < bytes.length) return from(written + n);
        this.pending -= bytes.length;
        this.failure ??= err;
        done();
        this.settle();
      });
    from(0);
  };

  /** Resolves once no more than `limit` bytes are in flight; rejects when a write has failed. */
  private drain(limit: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending <= limit) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ limit, resolve, reject }));
  }

  private settle(): void {
    if (this.disposed && this.pending === 0) this.close();
    this.waiters = this.waiters.filter((w) => {
      if (this.failure) w.reject(this.failure);
      else if (this.pending <= w.limit) w.resolve();
      else return true;
      return false;
    });
  }
}

function asBytes(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function safeName(hook: string): string {
  return hook.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Fills `a` from element offset `at` (elements of 4 bytes). */
function readAll<T extends Float32Array | Int32Array>(fd: number, a: T, at: number): T {
  const bytes = asBytes(a);
  for (let done = 0; done < bytes.length;) {
    const n = readSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30), at * 4 + done);
    if (n === 0) throw new Error(`row spool: the file ended ${bytes.length - done} bytes early`);
    done += n;
  }
  return a;
}
