// A token's activations do not depend on how many windows share its forward pass: every row of a matmul sums its
// products in the same order whatever the number of rows, and attention and norms work per window and per row. So
// model_batch_size is a speed and memory setting only: a run's results are the same bits for any value.
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { hookWidths, keptRows } from '../../../src/core/activations/model-rows';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import { initBackend } from '../../../src/core/tensor/backend';

const HOOK = 'blocks.2.hook_resid_post';

describe('activations and how a group is computed', () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    await initBackend('wasm');
    model = loadModel('pdlm-4l-256').model;
  });
  afterAll(() => model.dispose());

  it('pdlm-4l-256 gives the same bits at blocks.2 in passes of 1, 16, 64 and 96 windows', async () => {
    const n = 96;
    const seq = model.cfg.nCtx;
    const ids = new Int32Array(n * seq).map((_, i) =>
      i % seq === 0 ? 0 : ((i * 2654435761) % model.cfg.dVocab) >>> 0,
    );
    const windows = { ids, batch: n, seq };
    const dims = await hookWidths(model, [HOOK]);
    const rows = async (modelBatchSize: number) =>
      (await keptRows(model, windows, 0, n, { hookPoints: [HOOK], dims, mask: {}, modelBatchSize })).acts[HOOK]!;
    const reference = Buffer.from((await rows(16)).buffer);
    for (const b of [1, 64, 96]) expect(Buffer.from((await rows(b)).buffer).equals(reference), `batch ${b}`).toBe(true);
  }, 120_000);

  it("computes a group into a spent group's arrays (recycle): the same rows as into new ones", async () => {
    const seq = 64;
    const ids = new Int32Array(16 * seq).map((_, i) => (i % seq === 0 ? 0 : (i * 40503) % model.cfg.dVocab));
    const windows = { ids, batch: 16, seq };
    const opts = { hookPoints: [HOOK], dims: await hookWidths(model, [HOOK]), mask: {}, modelBatchSize: 4 };
    const spent = await keptRows(model, windows, 0, 8, opts);
    const fresh = await keptRows(model, windows, 8, 16, opts);
    const reused = await keptRows(model, windows, 8, 16, { ...opts, recycle: spent });
    expect(reused.acts[HOOK]!.buffer).toBe(spent.acts[HOOK]!.buffer);
    expect(reused.origin.buffer).toBe(spent.origin.buffer);
    expect(Buffer.from(reused.acts[HOOK]!.buffer).equals(Buffer.from(fresh.acts[HOOK]!.buffer))).toBe(true);
    expect([reused.rows, reused.origin]).toEqual([fresh.rows, fresh.origin]);
  });
});
