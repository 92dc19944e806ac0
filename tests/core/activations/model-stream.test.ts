import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createModelActivationStream, type ModelStreamOptions } from '../../../src/core/activations';
import { groupSeed } from '../../../src/core/activations/group-batcher';
import { countKept, tokenMask } from '../../../src/core/data/masks';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import type { TokenBatch } from '../../../src/core/lm/token-batch';
import { describeEachBackend } from '../../helpers/backends';
import { archFixture } from '../../helpers/fixtures';
import { BOS, IGNORED, PAD, actsOf, expectSameBatches, originOf, syntheticWindows, take } from './helpers';

const RESID = 'blocks.1.hook_resid_post';
const MLP_IN = 'blocks.0.ln2.hook_normalized';
const MLP_OUT = 'blocks.0.hook_mlp_out';
const windows = syntheticWindows(24, 32);
const mask = { bosId: BOS, padId: PAD, ignoreTokenIds: [IGNORED] };

/**
 * Registers a suite's loading and disposal of the gpt2 fixture model (after the suite's backend is set up), and gives
 * the stream options used throughout (`over` replaces any of them); both are valid once the suite's beforeAll ran.
 */
function useStream(): {
  model: () => HookedTransformer;
  options: (over?: Partial<ModelStreamOptions>) => ModelStreamOptions;
} {
  let loaded: HookedTransformer | undefined;
  beforeAll(() => {
    loaded = loadModel(archFixture('gpt2')).model;
  });
  afterAll(() => loaded?.dispose());
  const model = () => {
    if (!loaded) throw new Error('the fixture model is loaded in beforeAll');
    return loaded;
  };
  const options = (over: Partial<ModelStreamOptions> = {}): ModelStreamOptions => ({
    model: model(),
    windows,
    hookPoints: [RESID],
    mask,
    batchSize: 100,
    groupWindows: 5,
    modelBatchSize: 2,
    seed: 7,
    ...over,
  });
  return { model, options };
}

describeEachBackend('model activation stream: the rows it gives', () => {
  const { model, options } = useStream();

  it('keeps exactly the masked-in tokens, each once, and drops only the final partial batch', async () => {
    const kept = countKept(tokenMask(windows, mask));
    expect(kept).toBeLessThan(windows.batch * (windows.seq - 1)); // the mask drops pads and ignored ids too
    const all = await take(await createModelActivationStream(options({ dropLast: false })));
    expect(all.reduce((n, b) => n + b.rows, 0)).toBe(kept);
    expect(all.slice(0, -1).every((b) => b.rows === 100)).toBe(true);
    expect(all.at(-1)?.rows).toBe(kept % 100);
    const seen = new Set<number>();
    for (const b of all) {
      for (let i = 0; i < b.rows; i++) {
        const [w, p] = originOf(b, i);
        const id = windows.ids[w * windows.seq + p];
        expect(p).toBeGreaterThan(0);
        expect(id).toBeDefined();
        expect([BOS, PAD, IGNORED]).not.toContain(id);
        seen.add(w * windows.seq + p);
      }
    }
    expect(seen.size).toBe(kept);
    const dropped = await take(await createModelActivationStream(options()));
    expect(dropped.length).toBe(Math.floor(kept / 100));
  });

  it('gives each row the activation runWithCache computes at its (window, position), for every hook', async () => {
    const hooks = [MLP_IN, MLP_OUT];
    const stream = await createModelActivationStream(options({ hookPoints: hooks }));
    expect(stream.dims).toEqual({ [MLP_IN]: 64, [MLP_OUT]: 64 });
    const [b] = await take(stream, 1);
    if (!b) throw new Error('the stream gave no batch');
    const { cache } = model().runWithCache(windows, hooks);
    const refs = await Promise.all(
      hooks.map(async (hook) => {
        const t = cache[hook];
        if (!t) throw new Error(`runWithCache did not cache ${hook}`);
        return { hook, values: (await t.data()) as Float32Array };
      }),
    );
    tf.dispose(Object.values(cache));
    for (const i of [0, 1, 17, 63, 99]) {
      const [w, p] = originOf(b, i);
      const at = w * windows.seq + p;
      for (const { hook: h, values } of refs) {
        const row = Array.from(actsOf(b, h).subarray(i * 64, (i + 1) * 64));
        const want = Array.from(values.subarray(at * 64, (at + 1) * 64));
        expect(row.length).toBe(want.length);
        row.forEach((v, j) => expect(v, `${h} row ${i}[${j}]`).toBeCloseTo(want[j] ?? Number.NaN, 4));
      }
    }
  });
});

describeEachBackend('model activation stream: resuming from a state', () => {
  const { model, options } = useStream();

  it('resumes from a state bit for bit, mid-group and at a group boundary, recomputing one group', async () => {
    const whole = await take(await createModelActivationStream(options({ dropLast: false })));
    for (const n of [1, 3, 4]) {
      const stream = await createModelActivationStream(options({ dropLast: false }));
      await take(stream, n);
      const state = JSON.parse(JSON.stringify(stream.state()));
      expect(state.tokensEmitted).toBe(100 * n);
      const spy = vi.spyOn(model(), 'runWithCache');
      const resumed = await createModelActivationStream(options({ dropLast: false, state }));
      const firstBatch = await take(resumed, 1);
      // After the width probe, the first forward pass starts at the group being consumed: no earlier group is rerun.
      const [, afterProbe] = spy.mock.calls;
      if (!afterProbe) throw new Error('expected a forward pass after the width probe');
      const firstPass = afterProbe[0] as TokenBatch;
      expect(Array.from(firstPass.ids.subarray(0, windows.seq))).toEqual(
        Array.from(windows.ids.subarray(state.group * 5 * windows.seq, (state.group * 5 + 1) * windows.seq)),
      );
      spy.mockRestore();
      const rest = [...firstBatch, ...(await take(resumed))];
      expectSameBatches(rest, whole.slice(n), `resumed after ${n} batches`);
    }
  });

  it('refuses a state taken with other settings, naming the setting', async () => {
    const stream = await createModelActivationStream(options());
    await take(stream, 1);
    const state = stream.state();
    await expect(createModelActivationStream(options({ batchSize: 50, state }))).rejects.toThrow(
      /batch_size was 100 .* has 50/,
    );
    await expect(createModelActivationStream(options({ seed: 8, state }))).rejects.toThrow(/seed was 7/);
    await expect(createModelActivationStream(options({ windows: syntheticWindows(24, 32, 2), state }))).rejects.toThrow(
      /data was/,
    );
  });
});

describeEachBackend('model activation stream: shuffling', () => {
  const { options } = useStream();

  it('shuffles within groups by seed only; shuffle: false keeps window order', async () => {
    const ordered = (
      await take(await createModelActivationStream(options({ shuffle: false, dropLast: false })))
    ).flatMap((b) => Array.from(b.origin!));
    const pairs = (o: number[]) =>
      o.filter((_, i) => i % 2 === 0).map((w, i) => w * 100 + (o[2 * i + 1] ?? Number.NaN));
    const seq = pairs(ordered);
    expect(seq).toEqual([...seq].sort((a, b) => a - b));
    const a = pairs(
      (await take(await createModelActivationStream(options({ dropLast: false })))).flatMap((b) =>
        Array.from(b.origin!),
      ),
    );
    const b = pairs(
      (await take(await createModelActivationStream(options({ dropLast: false, seed: 8 })))).flatMap((x) =>
        Array.from(x.origin!),
      ),
    );
    expect(a).not.toEqual(seq);
    expect(a).not.toEqual(b);
    // Rows never leave their group: the first group's rows are exactly windows 0..4's kept tokens.
    const firstGroup = seq.filter((x) => x < 5 * 100);
    expect([...a.slice(0, firstGroup.length)].sort((x, y) => x - y)).toEqual(firstGroup);
    expect(groupSeed(7, 0)).not.toBe(groupSeed(7, 1));
  });
});

describeEachBackend('model activation stream: tensors and bad settings', () => {
  const { options } = useStream();
  // The model keeps the causal mask of each sequence length it has run until it is disposed: run one stream first,
  // as the suites before this one did on their own model, so that the count below sees only what a stream leaves.
  beforeAll(async () => {
    const warm = await createModelActivationStream(options());
    await take(warm);
    warm.close();
  });

  it('leaves no tensors behind and rejects bad settings', async () => {
    const before = tf.memory().numTensors;
    const stream = await createModelActivationStream(options());
    await take(stream);
    stream.close();
    expect(tf.memory().numTensors).toBe(before);
    await expect(createModelActivationStream(options({ hookPoints: ['blocks.1.attn.hook_pattern'] }))).rejects.toThrow(
      /expected \[batch, seq, d\]/,
    );
    await expect(createModelActivationStream(options({ hookPoints: ['blocks.9.hook_resid_post'] }))).rejects.toThrow(
      /unknown hook/,
    );
    await expect(createModelActivationStream(options({ batchSize: 0 }))).rejects.toThrow(/batch_size: 0/);
    await expect(createModelActivationStream(options({ seed: -1 }))).rejects.toThrow(/seed: -1/);
    await expect(createModelActivationStream(options({ windows: syntheticWindows(2, 129) }))).rejects.toThrow(
      /windows: sequence length 129 exceeds the model's context of 128/,
    );
  });
});
