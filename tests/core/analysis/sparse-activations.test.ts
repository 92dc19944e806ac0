// Sparse read-back of feature activations: every activation function's path (native sparse TopK, device topk,
// dense scan) gives the positive entries of the dense forward pass, and nothing is left on the backend.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import {
  encodeRowsSparse,
  encodeSparse,
  fromDense,
  fromTopK,
  type SparseActs,
} from '../../../src/core/analysis/sparse-activations';
import { SaeConfigSchema, type SaeConfigInput } from '../../../src/protocol/dictionary-config';
import { Mt19937 } from '../../../src/core/data/random/mt19937';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import { Sae, saeBufferShapes, saeParamShapes } from '../../../src/core/sae/variants/sae';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { tensorCount } from './helpers';

const D = 16;
const F = 96;
const R = 40;

function randomSae(over: Partial<SaeConfigInput>): Sae {
  const cfg = SaeConfigSchema.parse({
    hook_point_in: 'h',
    d_model: D,
    d_sae: F,
    top_k: 6,
    norm_activation: 'inference',
    jumprelu_threshold: 0.2,
    ...over,
  });
  const rng = new Mt19937(8);
  const params: HostParams = {};
  for (const [name, shape] of Object.entries({ ...saeParamShapes(cfg), ...saeBufferShapes(cfg) })) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, () => rng.nextFloat53() - 0.5);
    if (name === 'log_jumprelu_threshold') data.fill(Math.log(0.2));
    if (name === 'batchtopk_threshold') data.fill(0.3);
    params[name] = { data, shape };
  }
  return new Sae(cfg, params);
}

function rowsOf(s: SparseActs): [number, number][][] {
  return Array.from({ length: s.rows }, (_, r) => {
    const out: [number, number][] = [];
    for (let j = s.rowPtr[r]!; j < s.rowPtr[r + 1]!; j++) out.push([s.feature[j]!, s.value[j]!]);
    return out.sort((a, b) => a[0] - b[0]);
  });
}

const CASES: [string, Partial<SaeConfigInput>][] = [
  ['relu (dense scan)', { act_fn: 'relu' }],
  ['jumprelu (dense scan)', { act_fn: 'jumprelu' }],
  ['batchtopk threshold (dense scan)', { act_fn: 'batchtopk' }],
  ['topk (sparse kernel where available)', { act_fn: 'topk', sparsity_include_decoder_norm: false }],
  ['topk with decoder norms (device topk)', { act_fn: 'topk', sparsity_include_decoder_norm: true }],
];

describeEachBackend('encodeSparse', () => {
  for (const [name, over] of CASES) {
    it(`${name}: the positive entries of the dense activations`, async () => {
      const sae = randomSae(over);
      const rng = new Mt19937(3);
      const x = tf.tensor2d(
        Float32Array.from({ length: R * D }, () => 2 * rng.nextFloat53() - 1),
        [R, D],
      );
      const dense = tf.tidy(() => sae.forward(x).acts!);
      const ref = rowsOf(fromDense((await dense.data()) as Float32Array, R, F));
      dense.dispose();
      const before = tensorCount();
      const got = rowsOf(await encodeSparse(sae, x));
      expect(tensorCount()).toBe(before);
      tf.dispose([x]);
      sae.dispose();
      expect(ref.flat().length).toBeGreaterThan(R); // something fires
      got.forEach((row, r) => {
        expect(
          row.map((e) => e[0]),
          `row ${r} features`,
        ).toEqual(ref[r]!.map((e) => e[0]));
        expectClose(
          row.map((e) => e[1]),
          ref[r]!.map((e) => e[1]),
          { rtol: 1e-5, label: `row ${r} values` },
        );
      });
    });
  }
});

describeEachBackend('encodeRowsSparse', () => {
  const topk = { act_fn: 'topk', sparsity_include_decoder_norm: false } as const;
  const ROWS_CASES: [string, Partial<SaeConfigInput>][] = [
    ['topk, b_D subtracted first (native encoder on cpu/wasm)', { ...topk, apply_decoder_bias_to_pre_encoder: true }],
    ['topk, b_D not subtracted (native encoder on cpu/wasm)', { ...topk, apply_decoder_bias_to_pre_encoder: false }],
    ['topk with decoder norms (through encodeSparse)', { act_fn: 'topk', sparsity_include_decoder_norm: true }],
    ['relu (through encodeSparse)', { act_fn: 'relu' }],
  ];
  for (const [name, over] of ROWS_CASES) {
    it(`${name}: bit for bit the codes of encodeSparse on the rows times the scale`, async () => {
      const sae = randomSae(over);
      const rng = new Mt19937(5);
      const raw = Float32Array.from({ length: R * D }, () => 7 * rng.nextFloat53() - 3.5);
      const scale = 0.3617; // not a float32: it is rounded as tf.mul rounds it
      const x = tf.tidy(() => tf.mul(tf.tensor2d(raw, [R, D]), scale) as tf.Tensor2D);
      const want = await encodeSparse(sae, x);
      x.dispose();
      const before = tensorCount();
      const got = await encodeRowsSparse(sae, raw.slice(), R, scale);
      expect(tensorCount()).toBe(before);
      sae.dispose();
      expect(want.feature.length).toBeGreaterThan(R);
      expect(Array.from(got.rowPtr)).toEqual(Array.from(want.rowPtr));
      expect(Array.from(got.feature)).toEqual(Array.from(want.feature));
      expect(Buffer.from(got.value.buffer, got.value.byteOffset, got.value.byteLength)).toEqual(
        Buffer.from(want.value.buffer, want.value.byteOffset, want.value.byteLength),
      );
    });
  }
});

it('fromDense and fromTopK keep only positive entries, row by row', () => {
  const dense = fromDense(Float32Array.of(0, 2, -1, 0, 0, 0, 3, 0.5, 0), 3, 3);
  expect(Array.from(dense.rowPtr)).toEqual([0, 1, 1, 3]);
  expect(Array.from(dense.feature)).toEqual([1, 0, 1]);
  expect(Array.from(dense.value)).toEqual([2, 3, 0.5]);
  const topk = fromTopK(Float32Array.of(5, 0, 1, 2), Int32Array.of(7, 3, 4, 9), 2, 2);
  expect(Array.from(topk.rowPtr)).toEqual([0, 1, 3]);
  expect(Array.from(topk.feature)).toEqual([7, 4, 9]);
  // In place: the CSR takes the inputs' place and equals a fresh one.
  const [values, indices] = [Float32Array.of(5, 0, 1, 2, -1, 3), Int32Array.of(7, 3, 4, 9, 1, 2)];
  const fresh = fromTopK(values, indices, 3, 2);
  const inPlace = fromTopK(values, indices, 3, 2, { feature: indices, value: values });
  expect([inPlace.rowPtr, inPlace.feature, inPlace.value]).toEqual([fresh.rowPtr, fresh.feature, fresh.value]);
  expect(inPlace.feature.buffer).toBe(indices.buffer);
  expect(() => fromDense(Float32Array.of(0, NaN), 1, 2)).toThrow(/feature 1 has activation NaN on row 0/);
  expect(() => fromTopK(Float32Array.of(Infinity), Int32Array.of(3), 1, 1)).toThrow(
    /feature 3 has activation Infinity/,
  );
});
