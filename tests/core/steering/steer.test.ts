// Steering with a feature on pdlm-4l-256: strength 0 changes nothing, an additive strength s moves the feature's
// pre-activation by exactly s·(W_E[:, f]·W_D[f]) at the steered positions (and nowhere else), clamping to v makes
// the re-encoded activation v, the KV-cached steered continuation equals full-forward steering, and the other kinds
// write their decoder rows at their output hooks (or are refused in one line).
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/core/config/validate';
import { kindOf } from '../../../src/core/dictionary/registry';
import { generateTokens } from '../../../src/core/lm/generate';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import { steeringTarget, type DictionaryLike } from '../../../src/core/steering/feature-direction';
import { featureActivations, steerContinuation } from '../../../src/core/steering/steer';
import { positionSelector, steeringHooks } from '../../../src/core/steering/steering-hooks';
import { SteeringSettingsSchema, type SteeringSettingsInput } from '../../../src/protocol/steering';
import { initBackend } from '../../../src/core/tensor/backend';
import { expectClose } from '../../helpers/expect-close';
import { kindDictionary } from '../../helpers/kind-dictionaries';

const HOOK = 'blocks.1.hook_resid_post';
const AVG_NORM = 12.5; // dataset-wise: the dictionary sees x · √256 / 12.5
const PROMPT = [3, 17, 250, 99, 42, 7, 1000, 5];

function sae(overrides: Record<string, unknown> = {}): DictionaryLike {
  const kind = kindOf('sae');
  const cfg = parseConfig(
    kind.schema,
    {
      hook_point_in: HOOK,
      d_model: 256,
      d_sae: 32,
      act_fn: 'relu',
      norm_activation: 'dataset-wise',
      dataset_average_activation_norm: { [HOOK]: AVG_NORM, 'blocks.1.hook_mlp_out': AVG_NORM },
      ...overrides,
    },
    'test sae',
  );
  return { kind, cfg, params: kind.init(cfg, 11) };
}

const settings = (s: SteeringSettingsInput) => SteeringSettingsSchema.parse(s);

/** The feature's pre-activation [S] on hook activations x [S, d] (float64, from the weights). */
function preActs(dict: DictionaryLike, f: number, x: Float32Array): number[] {
  const { d_model: d, d_sae: F } = dict.cfg;
  const c = Math.sqrt(d) / AVG_NORM;
  const W_E = dict.params.W_E!.data;
  const b_D = dict.params.b_D!.data;
  return Array.from({ length: x.length / d }, (_, p) => {
    let s = dict.params.b_E!.data[f]!;
    for (let i = 0; i < d; i++) s += (x[p * d + i]! * c - b_D[i]!) * W_E[i * F + f]!;
    return s;
  });
}

async function hookActs(model: HookedTransformer, ids: number[], hooks = {}): Promise<Float32Array> {
  const out = model.forward([ids], { cache: [HOOK], hooks, logits: false });
  const data = (await out.cache[HOOK]!.data()) as Float32Array;
  tf.dispose(Object.values(out.cache));
  return data;
}

describe('steering with a feature (pdlm-4l-256)', () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    await initBackend('cpu');
    model = loadModel('pdlm-4l-256').model;
  });
  afterAll(() => model.dispose());

  it('strength 0 gives the unsteered continuation, token for token, with sampling and the same seed', async () => {
    const dict = sae();
    const s = settings({ strength: 0, maxNewTokens: 16, temperature: 0.9, topK: 40, seed: 5 });
    const r = await steerContinuation(model, dict, 3, PROMPT, s);
    expect(r.steered.ids).toEqual(r.unsteered.ids);
    expect(r.steered.activations).toEqual(r.unsteered.activations);
    const moved = await steerContinuation(model, dict, 3, PROMPT, { ...s, strength: 200 });
    expect(moved.steered.ids, 'a large strength changes the text').not.toEqual(moved.unsteered.ids);
    expect(moved.unsteered.ids, 'the unsteered text does not depend on the strength').toEqual(r.unsteered.ids);
  });

  it('adding s·W_D[f] moves the pre-activation by s·(W_E[:, f]·W_D[f]) at the steered positions only', async () => {
    const dict = sae();
    const f = 5;
    const d = 256;
    let dot = 0;
    for (let i = 0; i < d; i++) dot += dict.params.W_E!.data[i * 32 + f]! * dict.params.W_D!.data[f * d + i]!;
    const strength = 3.5;
    const positions = [2, 5];
    const hooks = steeringHooks(
      steeringTarget(dict, f),
      { mode: 'add', strength, positions },
      positionSelector(positions, PROMPT.length, PROMPT.length),
    );
    const before = preActs(dict, f, await hookActs(model, PROMPT));
    const after = preActs(dict, f, await hookActs(model, PROMPT, hooks));
    const expected = before.map((b, p) => b + (positions.includes(p) ? strength * dot : 0));
    expect(Math.abs(strength * dot)).toBeGreaterThan(0.05);
    expectClose(after, expected, { rtol: 1e-5, label: 'pre-activation after adding' });
  });

  it('clamping to v makes the re-encoded activation v at the steered (generated) positions', async () => {
    const dict = sae();
    const v = 2.75;
    const s = settings({ mode: 'clamp', strength: v, positions: 'generated', maxNewTokens: 10 });
    const r = await steerContinuation(model, dict, 9, PROMPT, s);
    const n = PROMPT.length;
    expect(r.steeredPositions).toEqual(Array.from({ length: 10 }, (_, i) => n + i));
    for (const p of r.steeredPositions)
      expect(Math.abs(r.steered.activations[p]! - v), `position ${p}`).toBeLessThan(1e-4);
    // The prompt's positions are untouched (causal: nothing steered precedes them).
    expectClose(r.steered.activations.slice(0, n), r.unsteered.activations.slice(0, n), {
      rtol: 1e-6,
      label: 'prompt activations',
    });
    expect(r.unsteered.activations.slice(n).some((a) => Math.abs(a - v) > 0.1)).toBe(true);
  });

  it('the KV-cached steered continuation equals steering with repeated full forwards', async () => {
    const dict = sae();
    for (const positions of ['all', 'prompt', 'generated', [1, 9, 12]] as const) {
      const hooks = steeringHooks(
        steeringTarget(dict, 4),
        { mode: 'add', strength: 40, positions: positions as never },
        positionSelector(positions as never, PROMPT.length, PROMPT.length + 12),
      );
      const cached = await generateTokens(model, PROMPT, { maxNewTokens: 12, hooks });
      const full = await generateTokens(model, PROMPT, { maxNewTokens: 12, hooks, kvCache: false });
      expect(cached.tokens, `positions ${JSON.stringify(positions)}`).toEqual(full.tokens);
    }
  });

  it('writes a CLT feature at every target layer and a crosscoder feature at every head', async () => {
    for (const saeType of ['clt', 'crosscoder']) {
      const dict = kindDictionary(saeType);
      const feature = saeType === 'clt' ? 16 + 3 : 3; // CLT: layer 1, latent 3
      const target = steeringTarget(dict, feature);
      expect(target.writes.map((w) => w.hook)).toEqual(
        saeType === 'clt' ? [1, 2, 3].map((l) => `blocks.${l}.hook_mlp_out`) : dict.kind.hooksOut(dict.cfg),
      );
      const hooks = steeringHooks(target, { mode: 'add', strength: 2, positions: 'all' }, () => true);
      const names = target.writes.map((w) => w.hook);
      // Each written hook's own value changes by 2 × its decoder row where nothing upstream was steered: the first.
      const first = names[0]!;
      const plain = model.forward([PROMPT], { cache: [first], logits: false });
      const steered = model.forward([PROMPT], { cache: [first], hooks, logits: false });
      const diff = tf.sub(steered.cache[first]!, plain.cache[first]!);
      const d = 256;
      const expected = new Float32Array(PROMPT.length * d).map((_, i) => 2 * target.writes[0]!.direction[i % d]!);
      expectClose(await diff.data(), expected, { rtol: 1e-4, label: `${saeType} ${first}` });
      tf.dispose([diff, ...Object.values(plain.cache), ...Object.values(steered.cache)]);
      expect(() => steeringHooks(target, { mode: 'clamp', strength: 1, positions: 'all' }, () => true)).toThrow(
        /clamp: not defined/,
      );
      const acts = await featureActivations(model, dict, feature, PROMPT);
      expect(acts).toHaveLength(PROMPT.length);
    }
  });

  it('refuses what it cannot steer, in one line', () => {
    expect(() => steeringTarget(kindDictionary('lorsa'), 0)).toThrow(/no single decoder direction per feature/);
    expect(() => steeringTarget(sae(), 32)).toThrow(/feature 32: out of range, expected 0..31/);
    const transcoder = sae({ hook_point_out: 'blocks.1.hook_mlp_out', hook_point_in: 'blocks.1.ln2.hook_normalized' });
    expect(() =>
      steeringHooks(steeringTarget(transcoder, 0), { mode: 'clamp', strength: 1, positions: 'all' }, () => true),
    ).toThrow(/is a transcoder .* use mode 'add'/);
    expect(() => steeringTarget(sae({ norm_activation: 'token-wise' }), 0)).toThrow(/rescales every token/);
    expect(() => positionSelector([3, 40], 8, 20)).toThrow(/positions: 40 is past the end/);
  });
});
