// The cross-layer transcoder's tensor forward on every backend: outputs equal the float64 reference, and the
// gradients of lm-saes's training loss equal finite differences of the reference loss (gate norms under no-grad).
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { CLT_JUMPRELU_KEY, cltKind, cltReference } from '../../../src/core/dictionary/kinds/clt';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import type { CltConfig } from '../../../src/protocol/kind-configs/clt';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { ALL_ACTS, at, config, randomParams, randomX } from './clt-fixtures';

const toTf = (p: HostParams): Record<string, tf.Tensor> =>
  Object.fromEntries(Object.entries(p).map(([k, t]) => [k, tf.tensor(t.data, t.shape)]));

/** HostParams holding float64 values (the reference reads any array through f64), for finite differences. */
const as64 = (p: HostParams): Record<string, { data: Float64Array; shape: number[] }> =>
  Object.fromEntries(Object.entries(p).map(([k, t]) => [k, { data: Float64Array.from(t.data), shape: [...t.shape] }]));

const L1 = 0.3;

/** lm-saes's generic loss: mean over tokens and out-layers of Σ_d (ŷ−y)², plus l1 · mean over tokens and layers of Σ_F f·n. */
function referenceLoss(
  cfg: CltConfig,
  p: ReturnType<typeof as64>,
  x: Float64Array,
  y: Float64Array,
  N: number,
  norms: Float64Array,
): number {
  const fwd = cltReference(cfg, p as unknown as HostParams, { x, B: 1, S: N }, { norms });
  const L = cfg.hook_points_in.length;
  let rec = 0;
  for (let j = 0; j < y.length; j++) rec += (fwd.recon[j]! - y[j]!) ** 2;
  let sparsity = 0;
  for (let e = 0; e < fwd.featureActs.length; e++)
    sparsity += Math.abs(fwd.featureActs[e]! * norms[e % (L * cfg.d_sae)]!);
  return rec / (N * L) + (L1 * sparsity) / (N * L);
}

describeEachBackend('clt tensor forward', () => {
  for (const [act, gated] of [
    ...ALL_ACTS.map((a) => [a, true] as const),
    ['relu', false] as const,
    ['layertopk', false] as const,
  ])
    it(`${act}${gated ? '' : ' ungated'}: featureActs, hiddenPre and recon equal the reference`, async () => {
      const before = tf.memory().numTensors;
      const cfg = config({ act_fn: act, sparsity_include_decoder_norm: gated, top_k: act.includes('layer') ? 7 : 3 });
      const p = randomParams(cfg, 51);
      const N = 6;
      const x = randomX(N, 3, 8, 52);
      const ref = cltReference(cfg, p, { x, B: 2, S: 3 });
      const params = toTf(p);
      const xt = tf.tensor3d(Float32Array.from(x), [N, 3, 8]);
      const fwd = cltKind.tf.forward(cfg, params, xt, { seqLen: 1, training: true });
      expectClose(await fwd.featureActs.data(), ref.featureActs, { rtol: 1e-4, label: `${act} featureActs` });
      expectClose(await fwd.hiddenPre.data(), ref.hiddenPre, { rtol: 1e-4, label: `${act} hiddenPre` });
      expectClose(await fwd.recon.data(), ref.recon, { rtol: 1e-4, label: `${act} recon` });
      const n = cltKind.tf.gateNorms(cfg, params);
      expectClose(await n.data(), cltKind.gateNorms(cfg, p), { rtol: 1e-5, label: 'gate norms' });
      tf.dispose([fwd.featureActs, fwd.hiddenPre, fwd.recon, n, xt, ...Object.values(params)]);
      expect(tf.memory().numTensors).toBe(before);
    });

  for (const act of ALL_ACTS)
    it(`${act}: gradients of the training loss equal finite differences of the reference (n under no-grad)`, async () => {
      const L = 3;
      const d = 4;
      const F = 6;
      const N = 4;
      const cfg = config({ act_fn: act, top_k: act.includes('layer') ? 5 : 2 }, L, d, F);
      const p = randomParams(cfg, 61);
      const x = randomX(N, L, d, 62);
      const y = randomX(N, L, d, 63);
      const norms = cltKind.gateNorms(cfg, p);
      // Away from kinks: every gate score is far from 0 and from the thresholds compared to the FD step.
      const base = cltReference(cfg, p, { x, B: 1, S: N });
      const scores = base.hiddenPre.map((h, e) => h * norms[e % (L * F)]!);
      expect(Math.min(...scores.map(Math.abs))).toBeGreaterThan(1e-3);
      const names = cltKind.trainable(cfg);
      const tensors = names.map((n) => tf.tensor(p[n]!.data, p[n]!.shape));
      const xt = tf.tensor3d(Float32Array.from(x), [N, L, d]);
      const yt = tf.tensor3d(Float32Array.from(y), [N, L, d]);
      const gradsOf = tf.grads((...ts: tf.Tensor[]) => {
        const params = Object.fromEntries(names.map((n, j) => [n, ts[j]!]));
        const fwd = cltKind.tf.forward(cfg, params, xt, { seqLen: 1, training: true });
        const n = cltKind.tf.gateNorms(cfg, params);
        const rec = tf.mean(tf.sum(tf.square(tf.sub(fwd.recon, yt)), 2));
        // f ≥ 0, so |f·n| = f·n; tfjs's abs'(0) = −1 (torch: 0) would leak into the JumpReLU threshold estimator.
        return tf.add(rec, tf.mul(L1, tf.mean(tf.sum(tf.mul(fwd.featureActs, n), 2))));
      });
      const grads = gradsOf(tensors);
      const h = 1e-5;
      const p64 = as64(p);
      for (const [j, name] of names.entries()) {
        const got = await grads[j]!.data();
        const want = new Float64Array(got.length);
        if (name === CLT_JUMPRELU_KEY) {
          // lm-saes's estimator: d logθ = θ · Σ_tokens (dL/d act)·(−θ/ε)·[|s−θ| < ε/2 ∧ s > 0], act = f·n.
          const fwd = cltReference(cfg, p, { x, B: 1, S: N });
          for (let n = 0; n < N; n++)
            for (let s = 0; s < L; s++)
              for (let i = 0; i < F; i++) {
                let dF = (L1 * norms[s * F + i]!) / (N * L);
                for (let t = s; t < L; t++)
                  for (let c = 0; c < d; c++)
                    dF +=
                      (2 / (N * L)) *
                      (fwd.recon[(n * L + t) * d + c]! - y[(n * L + t) * d + c]!) *
                      at(p, `W_D.${t}`)(s, i, c);
                const sc = scores[(n * L + s) * F + i]!;
                const theta = Math.exp(at(p, CLT_JUMPRELU_KEY)(s, i));
                const win = cfg.jumprelu_threshold_window;
                if (Math.abs(sc - theta) < win / 2 && sc > 0)
                  want[s * F + i]! += theta * (dF / norms[s * F + i]!) * (-theta / win);
              }
        } else {
          const arr = p64[name]!.data;
          for (let e = 0; e < arr.length; e++) {
            const v = arr[e]!;
            arr[e] = v + h;
            const up = referenceLoss(cfg, p64, x, y, N, norms);
            arr[e] = v - h;
            const down = referenceLoss(cfg, p64, x, y, N, norms);
            arr[e] = v;
            want[e] = (up - down) / (2 * h);
          }
        }
        expect(
          want.some((v) => v !== 0),
          `${name} has a nonzero gradient`,
        ).toBe(true);
        expectClose(got, want, { rtol: 1e-3, label: `${act} d loss / d ${name}` });
      }
      tf.dispose([...tensors, ...grads, xt, yt]);
    });
});
