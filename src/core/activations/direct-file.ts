// Direct I/O (O_DIRECT) for the activation spool's files: their bytes go between our buffers and the disk without
// passing through the page cache. A spool is written once and read back once or twice, gigabytes of it, so the
// page cache only costs there: on the 2-core VM the demo runs on, writing 1 GB through it takes 2.35 s of kernel
// CPU and reading it back cold 1.13 s, against 0.36 s and 0.04 s direct (dd, bs=4M) — CPU the LM pass and the
// training steps would otherwise use. Direct I/O needs buffers, offsets and lengths that are multiples of the
// device's block: the rows are staged in 4096-aligned buffers (aligned with the addon's alignmentOffset) and
// written in whole 4 MB chunks, a last partial block padded with zeros on flush; reads go through an aligned
// bounce buffer. Where any of it is missing (no O_DIRECT on the platform, a file system that refuses it such as
// tmpfs, no addon) the spool keeps the page cache (openDirect returns null).
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { loadNativeBlas } from '../tensor/native/native-blas';

/** Alignment of direct I/O's buffers, offsets and lengths: the largest logical block size in use. */
export const DIRECT_ALIGN = 4096;
/** Bytes of rows staged before a write (and the size of the read bounce buffer). */
const CHUNK = 4 * 2 ** 20;

interface AlignKernel {
  alignmentOffset(a: ArrayBufferView, align: number): number;
}

function alignKernel(): AlignKernel | null {
  const k = loadNativeBlas().blas as unknown as Partial<AlignKernel> | null;
  return k && typeof k.alignmentOffset === 'function' ? (k as AlignKernel) : null;
}

/** `bytes` zeroed bytes starting on a DIRECT_ALIGN boundary in memory. */
function alignedBytes(bytes: number, k: AlignKernel): Uint8Array {
  const raw = new Uint8Array(bytes + DIRECT_ALIGN);
  const at = k.alignmentOffset(raw, DIRECT_ALIGN);
  return raw.subarray(at, at + bytes);
}

const roundUp = (n: number) => Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN;

/**
 * `path` created (truncated) for direct reads and writes, or null where direct I/O is not available: the platform
 * has no O_DIRECT, the addon cannot align buffers, SAE_STUDIO_DIRECT_IO=0, or the file system refuses it (an
 * aligned probe block is written to find out; any failure there leaves the file to the page cache, whose own
 * writes then meet a real error such as a full disk).
 */
export function openDirect(path: string): DirectFile | null {
  const k = alignKernel();
  const flag = (constants as { O_DIRECT?: number }).O_DIRECT;
  if (!k || !flag || process.env.SAE_STUDIO_DIRECT_IO === '0') return null;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | flag, 0o644);
  } catch {
    return null;
  }
  try {
    writeSync(fd, alignedBytes(DIRECT_ALIGN, k), 0, DIRECT_ALIGN, 0);
  } catch {
    closeSync(fd);
    return null;
  }
  return new DirectFile(fd, k);
}

/** Writes one chunk in the background (the spool's accounting of bytes in flight); `done` once it has ended. */
export type SubmitWrite = (fd: number, bytes: Uint8Array, at: number, done: () => void) => void;

/** One file written front to back in aligned chunks and read back at any byte offset. */
export class DirectFile {
  /** The chunk being filled; it starts at file offset `start` (a multiple of DIRECT_ALIGN). */
  private stage: Uint8Array;
  private fill = 0;
  private start = 0;
  /** Chunks whose writes have ended, for reuse. */
  private readonly free: Uint8Array[] = [];
  private bounce: Uint8Array | null = null;
  /** Tail blocks written by flush and not yet done: a later append would rewrite the same block meanwhile. */
  private tails = 0;
  /** Bytes [0, flushed) have been handed to a write (a read of more must wait for a flush). */
  flushed = 0;

  constructor(
    readonly fd: number,
    private readonly k: AlignKernel,
  ) {
    this.stage = alignedBytes(CHUNK, k);
  }

  /** Bytes appended so far: the file offset the next append continues at. */
  get length(): number {
    return this.start + this.fill;
  }

  /** Appends `src`, writing every chunk it completes through `submit`; `src` may change once this returns. */
  append(src: Uint8Array, submit: SubmitWrite): void {
    if (this.tails > 0) throw new Error('row spool: append while a flush is still writing (await flush() first)');
    for (let i = 0; i < src.length;) {
      const n = Math.min(src.length - i, CHUNK - this.fill);
      this.stage.set(src.subarray(i, i + n), this.fill);
      this.fill += n;
      i += n;
      if (this.fill < CHUNK) continue;
      const full = this.stage;
      submit(this.fd, full, this.start, () => this.free.push(full));
      this.start += CHUNK;
      this.flushed = Math.max(this.flushed, this.start);
      this.stage = this.free.pop() ?? alignedBytes(CHUNK, this.k);
      this.fill = 0;
    }
  }

  /** Writes the partial chunk (its last block padded with zeros), keeping it staged for the appends that follow. */
  flush(submit: SubmitWrite): void {
    if (this.fill === 0 || this.flushed === this.length) return;
    this.flushed = this.length;
    const n = roundUp(this.fill);
    const tail = this.free.pop() ?? alignedBytes(CHUNK, this.k);
    tail.set(this.stage.subarray(0, this.fill));
    tail.fill(0, this.fill, n);
    this.tails += 1;
    submit(this.fd, tail.subarray(0, n), this.start, () => {
      this.tails -= 1;
      this.free.push(tail);
    });
  }

  /** Fills `dest` from byte offset `at` (written and flushed bytes only). */
  read(dest: Uint8Array, at: number): void {
    const bounce = (this.bounce ??= alignedBytes(CHUNK, this.k));
    let pos = Math.floor(at / DIRECT_ALIGN) * DIRECT_ALIGN;
    let skip = at - pos;
    for (let done = 0; done < dest.length;) {
      const len = Math.min(bounce.length, roundUp(skip + dest.length - done));
      let got = 0;
      while (got < len) {
        const n = readSync(this.fd, bounce, got, len - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      const usable = Math.min(got - skip, dest.length - done);
      if (usable <= 0) throw new Error(`row spool: the file ended ${dest.length - done} bytes early`);
      dest.set(bounce.subarray(skip, skip + usable), done);
      done += usable;
      pos += len;
      skip = 0;
    }
  }
}
