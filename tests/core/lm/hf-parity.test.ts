// Parity with Hugging Face transformers (fp32, eager attention) on the tiny random fixtures of six
// architectures and on pdlm-4l-256: logits, every hidden state and every attention / MLP module output.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import type { ModelConfig } from '../../../src/core/lm/model-config';
import { openSafetensors } from '../../../src/core/tensor/safetensors';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { ALL_ARCHITECTURES, archFixture, PDLM_DIR, PDLM_REFERENCE } from '../../helpers/fixtures';
import { join } from 'node:path';

const RTOL = 1e-4;

/**
 * Which of our hooks each reference tensor corresponds to. HF's hidden_states[i] is the input of block i
 * (its last entry has the final norm applied); Gemma 2's module outputs precede its post-norms.
 */
function referenceToHook(ref: string, cfg: ModelConfig): string {
  if (ref === 'logits') return ref;
  const hs = /^hidden_states\.(\d+)$/.exec(ref);
  if (hs) {
    const i = Number(hs[1]);
    return i === cfg.nLayers ? 'ln_final.hook_normalized' : `blocks.${i}.hook_resid_pre`;
  }
  const mod = /^hf\..*\.(\d+)\.(attn|self_attn|attention|mlp)$/.exec(ref);
  if (!mod) throw new Error(`unexpected reference tensor ${ref}`);
  const [, layer, kind] = mod;
  const isMlp = kind === 'mlp';
  if (cfg.postNorms) return `blocks.${layer}.${isMlp ? 'ln2_post' : 'ln1_post'}.hook_in`;
  return `blocks.${layer}.${isMlp ? 'hook_mlp_out' : 'hook_attn_out'}`;
}

const CASES = [
  ...ALL_ARCHITECTURES.map((arch) => ({ name: arch, dir: archFixture(arch), reference: join(archFixture(arch), 'reference.safetensors') })),
  { name: 'pdlm-4l-256', dir: PDLM_DIR, reference: join(PDLM_REFERENCE, 'reference.safetensors') },
];

describeEachBackend('Hugging Face parity', () => {
  for (const c of CASES) {
    describeCase(c);
  }
});

function describeCase(c: (typeof CASES)[number]) {
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
      expectClose((await t.data()) as Float32Array, ref.readFloat32(r), { rtol: RTOL, label: `${c.name} ${r} (${hook})` });
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
