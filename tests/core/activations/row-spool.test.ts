// One LM pass: the statistics pass spools its rows, and the training stream that reads them back gives the same
// statistics and the same batches, bit for bit, as the two live passes it replaces.
import { existsSync } from 'node:fs';
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

  it('reads back only windows it holds, and only contiguous appends', async () => {
    const spool = new RowSpool(join(tempDir(), 'spool'), spoolKey(windows, mask, [A]), { [A]: 64 });
    expect(spool.read(0, 1)).toBeNull();
    const group = { rows: 1, acts: { [A]: new Float32Array(64) }, origin: Int32Array.of(3, 1) };
    expect(() => spool.append(3, 1, group)).toThrow(/windows from 3 appended after 0/);
    spool.append(0, 4, { ...group, origin: Int32Array.of(3, 1) });
    expect(spool.read(0, 4)?.origin).toEqual(Int32Array.of(3, 1));
    expect(spool.read(0, 5)).toBeNull();
    expect(spool.serves(spoolKey(windows, mask, [A]), A)).toBe(true);
    expect(spool.serves(spoolKey(syntheticWindows(12, 32, 2), mask, [A]), A)).toBe(false);
    spool.dispose();
  });
});
