import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createModelActivationStream,
  mixStreams,
  type ActivationStreamState,
  type MixedStreamState,
} from '../../../src/core/activations';
import { mixWeighted } from '../../../src/core/data/mixing';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { initBackend } from '../../../src/core/tensor/backend';
import { archFixture } from '../../helpers/fixtures';
import { expectSameBatches, syntheticWindows, take } from './helpers';

const HOOK = 'blocks.0.hook_resid_post';

describe('mixStreams', () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    await initBackend('wasm');
    model = loadModel(archFixture('gpt2')).model;
  });
  afterAll(() => model.dispose());
  const part = (windowsSeed: number, n: number, state?: ActivationStreamState) =>
    createModelActivationStream({
      model,
      windows: syntheticWindows(n, 16, windowsSeed),
      hookPoints: [HOOK],
      batchSize: 20,
      groupWindows: 4,
      modelBatchSize: 4,
      seed: windowsSeed,
      state,
    });

  it('picks parts by mixWeighted’s rule and resumes exactly from its state', async () => {
    for (const stopping of ['first_exhausted', 'drop_exhausted'] as const) {
      const mix = mixStreams(
        [
          { stream: await part(1, 12), weight: 3 },
          { stream: await part(2, 8), weight: 1 },
        ],
        { seed: 11, stopping },
      );
      const all = await take(mix);
      const counts = [Math.floor((12 * 15) / 20), Math.floor((8 * 15) / 20)];
      const reference = [];
      for await (const x of mixWeighted(
        [
          { items: range(counts[0]!), weight: 3 },
          { items: range(counts[1]!), weight: 1 },
        ],
        { seed: 11, stopping },
      ))
        reference.push(x.part);
      expect(all.map((b) => b.part)).toEqual(reference);
      expect(mix.tokensEmitted).toBe(20 * all.length);

      const again = mixStreams(
        [
          { stream: await part(1, 12), weight: 3 },
          { stream: await part(2, 8), weight: 1 },
        ],
        { seed: 11, stopping },
      );
      await take(again, 4);
      const state: MixedStreamState = JSON.parse(JSON.stringify(again.state()));
      const resumed = mixStreams(
        [
          { stream: await part(1, 12, state.parts[0]), weight: 3 },
          { stream: await part(2, 8, state.parts[1]), weight: 1 },
        ],
        { seed: 11, stopping, state },
      );
      expectSameBatches(await take(resumed), all.slice(4), `mixture resume (${stopping})`);
      await expect(async () =>
        mixStreams(
          [
            { stream: await part(1, 12), weight: 3 },
            { stream: await part(2, 8, state.parts[1]), weight: 1 },
          ],
          { seed: 11, stopping, state },
        ),
      ).rejects.toThrow(/parts\[0\]/);
    }
  });

  it('rejects bad weights and parts of different widths', async () => {
    const a = await part(1, 4);
    expect(() => mixStreams([], { seed: 0 })).toThrow(/no parts/);
    expect(() => mixStreams([{ stream: a, weight: 0 }], { seed: 0 })).toThrow(/every weight is 0/);
    expect(() => mixStreams([{ stream: a, weight: -1 }], { seed: 0 })).toThrow(/weight -1/);
    const other = await createModelActivationStream({
      model,
      windows: syntheticWindows(4, 16),
      hookPoints: ['blocks.1.hook_resid_post'],
      batchSize: 20,
      groupWindows: 4,
      modelBatchSize: 4,
      seed: 0,
    });
    expect(() =>
      mixStreams(
        [
          { stream: a, weight: 1 },
          { stream: other, weight: 1 },
        ],
        { seed: 0 },
      ),
    ).toThrow(/part 1 has hook points/);
  });
});

async function* range(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
}
