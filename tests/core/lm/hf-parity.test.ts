// Parity with Hugging Face transformers (fp32, eager attention) on the tiny random fixtures of six
// architectures and on pdlm-4l-256: logits, every hidden state and every attention / MLP module output.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { openSafetensors } from '../../../src/core/tensor/safetensors';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { PARITY_CASES, referenceToHook } from '../../helpers/hf-parity-cases';

const RTOL = 1e-4;

describeEachBackend('Hugging Face parity', () => {
  for (const c of PARITY_CASES) {
    describeCase(c);
  }
});

function describeCase(c: (typeof PARITY_CASES)[number]) {
  let model: HookedTransformer;
  const ref = openSafetensors(c.reference);
  beforeAll(() => {
    model = loadModel(c.dir).model;
  });
  afterAll(() => model.dispose());

  it(`${c.name}: logits, hidden states and module outputs within ${RTOL} of the reference`, async () => {
    const [B, S] = ref.info('input_ids').shape as [number, number];
    const ids = ref.readInt32('input_ids');
    const refs = ref.names().filter((n) => n !== 'input_ids');
    const hooks = refs.map((r) => referenceToHook(r, model.cfg)).filter((h) => h !== 'logits');
    expect(refs.length).toBeGreaterThanOrEqual(2 * model.cfg.nLayers + model.cfg.nLayers + 2);
    const before = tf.memory().numTensors;
    const out = model.forward({ ids, batch: B, seq: S }, { cache: hooks });
    for (const r of refs) {
      const hook = referenceToHook(r, model.cfg);
      const t = hook === 'logits' ? out.logits! : out.cache[hook]!;
      expect(t.shape, `${c.name} ${r} shape`).toEqual(ref.info(r).shape);
      expectClose((await t.data()) as Float32Array, ref.readFloat32(r), {
        rtol: RTOL,
        label: `${c.name} ${r} (${hook})`,
      });
    }
    tf.dispose([out.logits!, ...Object.values(out.cache)]);
    // The first pass builds and keeps the model's mask / rotary tables for this length; later passes add nothing.
    const warm = tf.memory().numTensors;
    const cfg = model.cfg;
    expect(warm - before).toBe(new Set(cfg.slidingWindows).size + (cfg.rotary ? 2 : 0));
    const again = model.forward({ ids, batch: B, seq: S }, { cache: hooks });
    tf.dispose([again.logits!, ...Object.values(again.cache)]);
    expect(tf.memory().numTensors, 'tensors leaked by forward').toBe(warm);
  });
}
