// The WGSL programs of the webgpu sparse TopK path against plain-JavaScript references: the selection (exact set,
// ties towards the lower latent, rows of zeros and more equal maxima than the workgroup collects), the latent CSR
// (grouped by latent, token order inside), the segment reductions and the decode — and that two runs agree bit for
// bit. Runs where a WebGPU adapter exists (lavapipe in CI).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalGenerator } from '../../../../../src/core/lm/random-params';
import {
  webgpuLatentCsr,
  webgpuLatentGrad,
  webgpuSegmentOuter,
  webgpuSegmentReduce,
  webgpuTopKDecode,
  webgpuTopKSelect,
} from '../../../../../src/core/tensor/kernels/sparse-topk/webgpu';
import { initBackend } from '../../../../../src/core/tensor/backend';
import { webgpuTiledEncoder } from '../../../../../src/core/tensor/kernels/fused-step/webgpu';
import { hasBackend } from '../../../../helpers/backends';
import { expectClose } from '../../../../helpers/expect-close';

/** The k latents of a row a stable descending sort keeps (tf.topk's order: ties to the lower index), ascending. */
function referenceTopK(row: Float32Array, k: number): number[] {
  const order = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]! || a - b);
  return order.slice(0, k).sort((a, b) => a - b);
}

function rows(B: number, F: number, seed: number): Float32Array {
  const n = normalGenerator(seed);
  return new Float32Array(B * F).map(() => n());
}

/** A suite on webgpu (its kernels registered when the backend starts), skipped visibly without an adapter. */
function describeOnWebGpu(name: string, fn: () => void): void {
  describe.runIf(hasBackend('webgpu'))(`webgpu sparse TopK kernels: ${name}`, () => {
    beforeAll(async () => {
      await initBackend('webgpu');
    });
    fn();
  });
}

/** a[i] += x for a typed array (whose elements may be read as undefined under noUncheckedIndexedAccess). */
function addTo(a: Float32Array, i: number, x: number): void {
  a[i] = (a[i] ?? 0) + x;
}

describeOnWebGpu('encoder', () => {
  it('computes the encoder x·W + b (the default tiling) like tf.matMul for shapes that fill no tile evenly', async () => {
    for (const [M, K, N] of [
      [70, 37, 300],
      [128, 32, 256],
      [1, 5, 3],
      [65, 16, 129],
    ] as const) {
      const x = tf.tensor2d(rows(M, K, 1), [M, K]);
      const w = tf.tensor2d(rows(K, N, 2), [K, N]);
      const b = tf.tensor1d(rows(1, N, 3));
      const want = tf.add(tf.matMul(x, w), b);
      expectClose(await webgpuTiledEncoder(x, w, b).data(), await want.data(), {
        rtol: 1e-6,
        label: `encoder [${M}, ${K}] x [${K}, ${N}]`,
      });
      tf.dispose([x, w, b, want]);
    }
  });

  it("computes the fused step's tiled encoder x·W + b like tf.matMul for every tiling and shapes that fill no tile evenly", async () => {
    for (const [M, K, N] of [
      [70, 37, 300],
      [130, 32, 256],
      [1, 5, 3],
      [129, 24, 132],
      [200, 40, 516],
    ] as const) {
      const x = tf.tensor2d(rows(M, K, 1), [M, K]);
      const w = tf.tensor2d(rows(K, N, 2), [K, N]);
      const b = tf.tensor1d(rows(1, N, 3));
      const want = await tf.add(tf.matMul(x, w), b).data();
      for (const tiling of [
        { bk: 8, vec4: false },
        { bk: 8, vec4: true },
        { bk: 16, vec4: false },
        { bk: 16, vec4: true },
      ] as const) {
        const got = webgpuTiledEncoder(x, w, b, tiling);
        expectClose(await got.data(), want, {
          rtol: 1e-6,
          label: `tiled encoder ${JSON.stringify(tiling)} [${M}, ${K}] x [${K}, ${N}]`,
        });
        got.dispose();
      }
      tf.dispose([x, w, b]);
    }
  });
});

describeOnWebGpu('selection', () => {
  it('selects exactly the k largest per row, ties to the lower latent, for any row length, on both selection paths', async () => {
    for (const [B, F, k] of [
      [5, 1000, 32],
      [3, 257, 7],
      [2, 40, 40],
      [4, 24576, 64],
      [3, 600, 300],
    ] as const) {
      const data = rows(B, F, B * F + k);
      if (F === 1000) {
        data.fill(0, 0, F); // row 0: all zeros — more exact ties than the workgroup collects
        data.fill(5, F, F + 300); // row 1: 300 equal maxima
        for (let i = 0; i < 10; i++) data[2 * F + 100 * i] = 2.5; // row 2: 10 ties straddling the k-th place
        for (let i = 0; i < 31; i++) data[2 * F + 3 * i + 1] = 9 + i;
        for (let i = 0; i < F; i++) data[3 * F + i] = -Math.abs(data[3 * F + i]!) - 1; // row 3: only negatives
      }
      const pre = tf.tensor2d(data, [B, F]);
      for (const radixOnly of [false, true]) {
        const { indices, values } = webgpuTopKSelect(pre, k, { radixOnly });
        const got = (await indices.array()) as number[][];
        const vals = (await values.array()) as number[][];
        for (let b = 0; b < B; b++) {
          const row = data.subarray(b * F, (b + 1) * F);
          const want = referenceTopK(row, k);
          expect(got[b], `row ${b} of [${B}, ${F}], k ${k}${radixOnly ? ', radix select' : ''}`).toEqual(want);
          expect(vals[b]).toEqual(want.map((i) => Math.max(row[i]!, 0)));
        }
        tf.dispose([indices, values]);
      }
      pre.dispose();
    }
  });
});

/** A batch whose selection the CSR tests share: 100 tokens (four blocks of 32 rows, the last one partial), latent 17 chosen by every token. */
async function csrFixture() {
  const [B, F, k, d] = [100, 300, 9, 12];
  const data = rows(B, F, 7);
  for (let b = 0; b < B; b++) data[b * F + 17] = 50;
  const pre = tf.tensor2d(data, [B, F]);
  const { indices, values } = webgpuTopKSelect(pre, k);
  pre.dispose();
  const idx = (await indices.data()) as Int32Array;
  const v = (await values.data()) as Float32Array;
  const csr = webgpuLatentCsr(indices, F);
  const x = tf.tensor2d(rows(B, d, 9), [B, d]);
  const xv = (await x.data()) as Float32Array;
  return { B, F, k, d, indices, values, idx, v, csr, x, xv };
}

describeOnWebGpu('latent CSR, segments and decode', () => {
  it('groups the (token, slot) pairs by latent in token order', async () => {
    const { F, idx, csr } = await csrFixture();
    const entries = Array.from(await csr.entries.data());
    const offsets = Array.from(await csr.offsets.data());
    const want: number[][] = Array.from({ length: F }, () => []);
    idx.forEach((f, p) => want[f]?.push(p));
    expect(offsets).toEqual(
      [0, ...want.map((s) => s.length)].map(
        (
          (acc) => (n: number) =>
            (acc += n)
        )(0),
      ),
    );
    expect(entries).toEqual(want.flat());
  });

  it('reduces each latent’s segment: sums, counts and outer products', async () => {
    const { B, F, k, d, idx, csr, x, xv } = await csrFixture();
    const coef = tf.tensor2d(rows(B, k, 8), [B, k]);
    const c = (await coef.data()) as Float32Array;
    const sum = new Float32Array(F);
    const count = new Float32Array(F);
    const outer = new Float32Array(F * d);
    idx.forEach((f, p) => {
      const cp = c[p] ?? NaN;
      addTo(sum, f, cp);
      addTo(count, f, cp > 0 ? 1 : 0);
      for (let t = 0; t < d; t++) addTo(outer, f * d + t, cp * xv[Math.floor(p / k) * d + t]!);
    });
    expectClose(await webgpuSegmentReduce(coef, csr, 'sum').data(), sum, { rtol: 1e-6, label: 'segment sum' });
    expect(Array.from(await webgpuSegmentReduce(coef, csr, 'count').data())).toEqual(Array.from(count));
    expectClose(await webgpuSegmentOuter(coef, x, csr).data(), outer, { rtol: 1e-6, label: 'segment outer' });
  });

  it('decodes from the k selected rows and takes the latent gradient', async () => {
    const { B, F, k, d, indices, values, idx, v, x, xv } = await csrFixture();
    const W_D = tf.tensor2d(rows(F, d, 10), [F, d]);
    const b_D = tf.tensor1d(rows(1, d, 11));
    const wd = (await W_D.data()) as Float32Array;
    const bd = (await b_D.data()) as Float32Array;
    const recon = new Float32Array(B * d);
    const dz = new Float32Array(B * k);
    for (let p = 0; p < B * k; p++) {
      const b = Math.floor(p / k);
      let dot = 0;
      for (let t = 0; t < d; t++) {
        addTo(recon, b * d + t, v[p]! * wd[idx[p]! * d + t]!);
        dot += xv[b * d + t]! * wd[idx[p]! * d + t]!;
      }
      dz[p] = v[p]! > 0 ? dot : 0;
    }
    for (let b = 0; b < B; b++) for (let t = 0; t < d; t++) addTo(recon, b * d + t, bd[t]!);
    expectClose(await webgpuTopKDecode(values, indices, W_D, b_D).data(), recon, { rtol: 1e-6, label: 'decode' });
    expectClose(await webgpuLatentGrad(x, values, indices, W_D).data(), dz, { rtol: 1e-6, label: 'latent gradient' });
  });

  it('gives bit-identical results on every run (no atomics in the sums)', async () => {
    const B = 256;
    const F = 512;
    const k = 16;
    const d = 8;
    const pre = tf.tensor2d(rows(B, F, 3), [B, F]);
    const x = tf.tensor2d(rows(B, d, 4), [B, d]);
    const once = async () => {
      const { indices, values } = webgpuTopKSelect(pre, k);
      const csr = webgpuLatentCsr(indices, F);
      const out = await webgpuSegmentOuter(values, x, csr).data();
      tf.dispose([indices, values, csr.entries, csr.offsets]);
      return Array.from(out);
    };
    const first = await once();
    for (let i = 0; i < 3; i++) expect(await once()).toEqual(first);
  });
});
