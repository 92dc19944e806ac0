// The spool's direct I/O (direct-file.ts): bytes appended in pieces of any size — across the 4 MB chunks, with a
// partial last block — read back at any offset exactly, also after a flush and more appends; and the row spool
// giving the same rows through direct I/O as through the page cache (SAE_STUDIO_DIRECT_IO=0).
import { statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { RowSpool, spoolKey } from '../../../src/core/activations';
import { DIRECT_ALIGN, openDirect, type DirectFile } from '../../../src/core/activations/direct-file';
import { syntheticWindows, useTempDirs } from './helpers';

/** Runs each write at once (synchronously, as a write that has ended). */
function syncWrites(file: DirectFile) {
  return (fd: number, bytes: Uint8Array, at: number, done: () => void) => {
    expect(fd).toBe(file.fd);
    expect([at % DIRECT_ALIGN, bytes.length % DIRECT_ALIGN]).toEqual([0, 0]);
    // Through the file's own direct descriptor, as the spool's background writes go.
    writeSync(fd, bytes, 0, bytes.length, at);
    done();
  };
}

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('direct I/O for the activation spool', () => {
  const tempDir = useTempDirs();

  it('reads back every byte appended, at any offset, across chunks and partial blocks', (ctx: TestContext) => {
    const path = join(tempDir(), 'rows.f32');
    const file = openDirect(path);
    if (!file) {
      ctx.skip('no direct I/O here (platform, file system or addon): the spool uses the page cache');
      return;
    }
    const submit = syncWrites(file);
    // 9.3 MB in pieces of odd sizes: three chunk boundaries and a last block 1,234 bytes into its 4096.
    const all = pattern(9 * 2 ** 20 + 300_000 + 1234, 7);
    const sizes = [1, 4095, 4097, 1_000_000, 3_300_000, 123_457];
    let at = 0;
    for (let i = 0; at < all.length; i++) {
      const n = Math.min(sizes[i % sizes.length]!, all.length - at);
      file.append(all.subarray(at, at + n), submit);
      at += n;
    }
    expect(file.length).toBe(all.length);
    file.flush(submit);
    expect(statSync(path).size % DIRECT_ALIGN, 'whole blocks on disk').toBe(0);
    for (const [from, n] of [
      [0, all.length],
      [1, 10],
      [4095, 2],
      [4 * 2 ** 20 - 7, 4 * 2 ** 20 + 100],
      [all.length - 1000, 1000],
    ] as const) {
      const got = new Uint8Array(n);
      file.read(got, from);
      expect(Buffer.from(got).equals(Buffer.from(all.subarray(from, from + n))), `[${from}, +${n})`).toBe(true);
    }
    // More rows after a flush continue the partial block; a read past what was written fails.
    const more = pattern(50_000, 9);
    file.append(more, submit);
    file.flush(submit);
    const tail = new Uint8Array(60_000);
    file.read(tail, all.length - 10_000);
    expect(Buffer.from(tail.subarray(0, 10_000)).equals(Buffer.from(all.subarray(all.length - 10_000)))).toBe(true);
    expect(Buffer.from(tail.subarray(10_000)).equals(Buffer.from(more))).toBe(true);
    expect(() => file.read(new Uint8Array(DIRECT_ALIGN * 4), all.length + 50_000)).toThrow(/ended .* bytes early/);
  });

  it('gives the row spool the same rows as the page cache does', async () => {
    const windows = syntheticWindows(6, 32);
    const mask = {};
    const hook = 'blocks.0.hook_resid_post';
    const d = 72; // rows of 288 bytes: appends never end on a block boundary
    const group = (first: number, n: number, seed: number) => {
      const rows = n * 31;
      const acts = new Float32Array(pattern(rows * d * 4, seed).buffer);
      const origin = new Int32Array(rows * 2);
      for (let r = 0; r < rows; r++) origin.set([first + Math.floor(r / 31), 1 + (r % 31)], 2 * r);
      return { rows, acts: { [hook]: acts }, origin };
    };
    const spooled = async (directIo: boolean) => {
      const before = process.env.SAE_STUDIO_DIRECT_IO;
      if (!directIo) process.env.SAE_STUDIO_DIRECT_IO = '0';
      try {
        const spool = new RowSpool(join(tempDir(), 'spool'), spoolKey(windows, mask, [hook]), { [hook]: d });
        for (const [first, n] of [
          [0, 1],
          [1, 3],
          [4, 2],
        ] as const)
          await spool.append(first, n, group(first, n, first + 1));
        await spool.flush();
        const rows = spool.read(0, 6)!;
        const part = spool.readHook(hook, 2, 5)!;
        spool.dispose();
        return [Buffer.from(rows.acts[hook]!.buffer), Buffer.from(rows.origin.buffer), Buffer.from(part.buffer)];
      } finally {
        if (before === undefined) delete process.env.SAE_STUDIO_DIRECT_IO;
        else process.env.SAE_STUDIO_DIRECT_IO = before;
      }
    };
    const [direct, cached] = [await spooled(true), await spooled(false)];
    for (let i = 0; i < 3; i++) expect(direct[i]!.equals(cached[i]!), `part ${i}`).toBe(true);
    // And they are the rows appended.
    expect(
      direct[0]!.equals(
        Buffer.concat([0, 1, 4].map((f, i) => Buffer.from(group(f, [1, 3, 2][i]!, f + 1).acts[hook].buffer))),
      ),
    ).toBe(true);
  });
});
