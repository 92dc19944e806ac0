// The LM's fused elementwise steps against what they replace, to the bit: the linear with a post-op (SaeLinearPost:
// sgemm adds the residual, or applies the tanh GELU, to each tile of the product as it finishes it) against the
// linear then tf.add or the GELU kernel, directly on odd shapes (ragged tiles, several K blocks, no bias); and,
// with the embedding in one pass (SaeEmbed: token row + position row), inside every parity model, whose logits must
// not move when watching each sublayer's output (hook_embed, hook_attn_out, hook_mlp_out, mlp.hook_pre) makes the
// forward take the unfused path.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { linear, linearAdd, linearGeluNew } from '../../../src/core/lm/components/linear';
import { activate } from '../../../src/core/lm/components/activations';
import { loadModel } from '../../../src/core/lm/load-model';
import { normalGenerator } from '../../../src/core/lm/random-params';
import { SAE_EMBED, SAE_GELU_NEW, SAE_LINEAR_POST } from '../../../src/core/tensor/kernels/kernel-names';
import { openSafetensors } from '../../../src/core/tensor/safetensors';
import { describeEachBackend } from '../../helpers/backends';
import { PARITY_CASES } from '../../helpers/hf-parity-cases';

function rand(shape: number[], seed: number, scale = 1): tf.Tensor {
  const g = normalGenerator(seed);
  return tf.tensor(
    new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => g() * scale),
    shape,
  );
}

const bits = async (t: tf.Tensor) => Buffer.from(((await t.data()) as Float32Array).buffer);

describeEachBackend('linear with a post-op', (backend) => {
  const host = backend === 'wasm' || backend === 'cpu';

  it('adds the residual and applies the GELU with the bits of the separate ops', async () => {
    expect(!!tf.getKernel(SAE_LINEAR_POST, backend), 'registered on the host backends').toBe(host);
    // Rows not a multiple of the 12-row tile, columns not a multiple of 32, K over one 256-deep block (1024, 300),
    // a product small enough to run on one thread, and no bias.
    const cases = [
      { m: 4096, k: 256, n: 256, bias: true },
      { m: 1000, k: 1024, n: 256, bias: true },
      { m: 37, k: 300, n: 70, bias: true },
      { m: 5, k: 16, n: 9, bias: false },
      { m: 611, k: 256, n: 1024, bias: true },
    ];
    for (const [i, c] of cases.entries()) {
      const label = JSON.stringify(c);
      const x = rand([c.m, c.k], 10 + i) as tf.Tensor2D;
      const W = rand([c.k, c.n], 20 + i, 1 / Math.sqrt(c.k));
      const b = c.bias ? rand([c.n], 30 + i) : null;
      const r = rand([c.m, c.n], 40 + i, 3) as tf.Tensor2D;
      const plain = linear(x, W, b);
      const sum = tf.add(r, plain);
      const fusedSum = linearAdd(x, W, b, r);
      expect((await bits(fusedSum)).equals(await bits(sum)), `${label}: + r`).toBe(true);
      const gelu = linearGeluNew(x, W, b);
      const geluRuns = host && !!tf.getKernel(SAE_GELU_NEW, backend);
      expect(gelu !== null, `${label}: the fused GELU runs where the GELU kernel does`).toBe(geluRuns);
      if (gelu) {
        const ref = activate('gelu_new', plain);
        expect((await bits(gelu)).equals(await bits(ref)), `${label}: gelu_new`).toBe(true);
        tf.dispose([gelu, ref]);
      }
      tf.dispose([x, W, ...(b ? [b] : []), r, plain, sum, fusedSum]);
    }
  });

  it.runIf(host)('rejects a residual of the wrong size', () => {
    const x = rand([8, 16], 1) as tf.Tensor2D;
    const W = rand([16, 4], 2);
    const r = rand([8, 3], 3);
    expect(() =>
      tf.engine().runKernel(SAE_LINEAR_POST, { x, w: W, r }, { post: 'add' } as unknown as tf.NamedAttrMap),
    ).toThrow(/residual must hold 8 x 4 values/);
    tf.dispose([x, W, r]);
  });

  for (const c of PARITY_CASES) describeCase(c);

  function describeCase(c: (typeof PARITY_CASES)[number]) {
    let model: HookedTransformer;
    beforeAll(() => {
      model = loadModel(c.dir).model;
    });
    afterAll(() => model.dispose());

    it(`${c.name}: the same logits with the sublayer outputs fused into the residual stream as without`, async () => {
      const ref = openSafetensors(c.reference);
      const [B, S] = ref.info('input_ids').shape as [number, number];
      const ids = ref.readInt32('input_ids');
      // Watching each sublayer's own output (changing nothing) keeps every add and GELU a separate op.
      const watch = Object.fromEntries([
        ['hook_embed', () => undefined],
        ...Array.from({ length: model.cfg.nLayers }, (_, l) =>
          ['hook_attn_out', 'hook_mlp_out', 'mlp.hook_pre'].map((h) => [`blocks.${l}.${h}`, () => undefined]),
        ).flat(),
      ]);
      const profile = await tf.profile(() => model.forward({ ids, batch: B, seq: S }).logits!);
      const fused = profile.result as tf.Tensor;
      const plain = model.forward({ ids, batch: B, seq: S }, { hooks: watch }).logits!;
      expect((await bits(fused)).equals(await bits(plain)), `${c.name} logits`).toBe(true);
      const ran = profile.kernels.some((k) => k.name === SAE_LINEAR_POST);
      expect(ran, 'the fused kernel ran where it can').toBe(
        host && !model.cfg.parallelResidual && !model.cfg.postNorms,
      );
      const embedded = profile.kernels.some((k) => k.name === SAE_EMBED);
      expect(embedded, 'the embedding took one pass where it can').toBe(host && model.cfg.embedScale === null);
      tf.dispose([fused, plain]);
    });
  }
});
