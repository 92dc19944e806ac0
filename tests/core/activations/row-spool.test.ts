// One LM pass: the statistics pass spools its rows, and the training stream that reads them back gives the same
// statistics and the same batches, bit for bit, as the two live passes it replaces.
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createModelActivationStream,
  estimateAverageNorm,
  hookWidths,
  RowSpool,
  spoolKey,
} from '../../../src/core/activations';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { initBackend } from '../../../src/core/tensor/backend';
import { archFixture } from '../../helpers/fixtures';
import { BOS, PAD, expectSameBatches, syntheticWindows, take, useTempDirs } from './helpers';

const A = 'blocks.0.hook_resid_post';
const B = 'blocks.1.hook_resid_post';
const windows = syntheticWindows(12, 32);
const mask = { bosId: BOS, padId: PAD };
const hookPoints = [A, B];

describe('row spool: one pass for the statistics and the training stream', () => {
  const tempDir = useTempDirs();
  let model: HookedTransformer;
  beforeAll(async () => {
    await initBackend('wasm');
    model = loadModel(archFixture('gpt2')).model;
  });
  afterAll(() => model.dispose());

  const stream = (spool?: RowSpool) =>
    createModelActivationStream({
      ...{ model, windows, hookPoints, mask, batchSize: 50, groupWindows: 4, modelBatchSize: 2, seed: 7 },
      ...(spool ? { spool } : {}),
    });

  for (const nTokens of [1e9, 120]) {
    it(`gives the same statistics and batches as live passes (stats over ${nTokens} tokens)`, async () => {
      const dir = join(tempDir(), 'spool');
      const spool = new RowSpool(dir, spoolKey(windows, mask, hookPoints), await hookWidths(model, hookPoints));
      const opts = { model, windows, hookPoints, mask, nTokens, modelBatchSize: 2 };
      const spooled = await estimateAverageNorm({ ...opts, spool });
      const live = await estimateAverageNorm(opts);
      expect(spooled.tokens).toBe(live.tokens);
      expect(spooled.norms).toEqual(live.norms);
      expect(Buffer.from(spooled.means[B]!.buffer)).toEqual(Buffer.from(live.means[B]!.buffer));
      // All windows, or whole passes up to the one that reached the sample (the rest is computed live).
      if (nTokens === 1e9) expect(spool.coveredWindows).toBe(12);
      else expect([spool.coveredWindows < 12, spool.coveredWindows % 2]).toEqual([true, 0]);
      expectSameBatches(await take(await stream(spool)), await take(await stream()), 'spooled vs live');
      spool.dispose();
      expect(existsSync(dir)).toBe(false);
    });
  }

  it("reads a group into a spent group's arrays when they have room: the same rows, no new buffers", async () => {
    const spool = new RowSpool(join(tempDir(), 'spool'), spoolKey(windows, mask, [A]), { [A]: 64 });
    const acts = Float32Array.from({ length: 5 * 64 }, (_, i) => i * 0.5 - 7);
    await spool.append(0, 4, { rows: 5, acts: { [A]: acts }, origin: Int32Array.of(0, 1, 0, 2, 1, 1, 2, 5, 3, 9) });
    await spool.flush();
    const spent = spool.read(0, 4)!;
    const fresh = spool.read(1, 4)!;
    const reused = spool.read(1, 4, spent)!;
    expect(reused.acts[A]!.buffer).toBe(spent.acts[A]!.buffer);
    expect(reused.origin.buffer).toBe(spent.origin.buffer);
    expect(Buffer.from(reused.acts[A]!.buffer, 0, reused.acts[A]!.byteLength)).toEqual(
      Buffer.from(fresh.acts[A]!.buffer),
    );
    expect([reused.rows, reused.acts[A]!.length, reused.origin]).toEqual([fresh.rows, 3 * 64, fresh.origin]);
    // Too small a spent group lends nothing.
    expect(spool.read(0, 4, fresh)!.acts[A]!.buffer).not.toBe(fresh.acts[A]!.buffer);
    spool.dispose();
  });

  it('reads back only windows it holds, and only contiguous appends', async () => {
    const spool = new RowSpool(join(tempDir(), 'spool'), spoolKey(windows, mask, [A]), { [A]: 64 });
    expect(spool.read(0, 1)).toBeNull();
    const group = { rows: 1, acts: { [A]: new Float32Array(64) }, origin: Int32Array.of(3, 1) };
    expect(() => spool.append(3, 1, group)).toThrow(/windows from 3 appended after 0/);
    await spool.append(0, 4, { ...group, origin: Int32Array.of(3, 1) });
    await spool.flush();
    expect(spool.read(0, 4)?.origin).toEqual(Int32Array.of(3, 1));
    expect(spool.read(0, 5)).toBeNull();
    expect(spool.serves(spoolKey(windows, mask, [A]), A)).toBe(true);
    expect(spool.serves(spoolKey(syntheticWindows(12, 32, 2), mask, [A]), A)).toBe(false);
    spool.dispose();
  });

  it('writes in the background: a read waits for flush(), the rows land at their offsets in append order', async () => {
    const spool = new RowSpool(join(tempDir(), 'spool'), spoolKey(windows, mask, [A]), { [A]: 64 });
    // 40 appends of 1 MB each: more than the bytes allowed in flight, so appends also wait for room.
    const rows = 4096;
    const groupOf = (w: number) => ({
      rows,
      acts: { [A]: new Float32Array(rows * 64).map((_, i) => w * 1e6 + i) },
      origin: new Int32Array(rows * 2).map((_, i) => (i % 2 ? i >> 1 : w)),
    });
    for (let w = 0; w < 40; w++) await spool.append(w, 1, groupOf(w));
    expect(() => spool.read(0, 1)).toThrow(/await flush\(\) first/);
    await spool.flush();
    for (const w of [0, 17, 39]) {
      const [got, want] = [spool.read(w, w + 1)!, groupOf(w)];
      expect(Buffer.from(got.acts[A]!.buffer).equals(Buffer.from(want.acts[A]!.buffer))).toBe(true);
      expect(Buffer.from(got.origin.buffer).equals(Buffer.from(want.origin.buffer))).toBe(true);
    }
    expect(spool.rows).toBe(40 * rows);
    // One hook's rows into a buffer of the caller's when it is large enough, else a fresh array.
    const into = new Float32Array(3 * rows * 64);
    const some = spool.readHook(A, 5, 8, into)!;
    expect(some.buffer).toBe(into.buffer);
    expect(Buffer.from(some.buffer, 0, some.byteLength).equals(Buffer.from(spool.read(5, 8)!.acts[A]!.buffer))).toBe(
      true,
    );
    expect(spool.readHook(A, 5, 9, into)!.buffer).not.toBe(into.buffer);
    expect(spool.readHook(A, 39, 41)).toBeNull();
    spool.dispose();
  });

  it('a full disk (ENOSPC, /dev/full) fails the statistics pass with the write error', async () => {
    const dir = join(tempDir(), 'spool');
    mkdirSync(dir, { recursive: true });
    symlinkSync('/dev/full', join(dir, `${A}.f32`));
    const dims = await hookWidths(model, [A]);
    const spool = new RowSpool(dir, spoolKey(windows, mask, [A]), dims);
    const opts = { model, windows, hookPoints: [A], mask, nTokens: 1e9, modelBatchSize: 2 };
    await expect(estimateAverageNorm({ ...opts, spool })).rejects.toThrow(/^ENOSPC: no space left on device, write$/);
    expect(() => spool.read(0, 1)).toThrow(/ENOSPC/);
    spool.dispose();
    expect(existsSync(dir)).toBe(false);
  });

  it('dispose() with writes in flight removes the folder; the spool is then unusable', async () => {
    const dir = join(tempDir(), 'spool');
    const spool = new RowSpool(dir, spoolKey(windows, mask, [A]), { [A]: 64 });
    const group = { rows: 1, acts: { [A]: new Float32Array(64) }, origin: Int32Array.of(0, 1) };
    const appended = spool.append(0, 1, group);
    spool.dispose();
    await appended;
    expect(existsSync(dir)).toBe(false);
    expect(() => spool.read(0, 1)).toThrow(/after dispose/);
  });
});
