// The Lorsa tensor forward pass on every backend: equal to the float64 reference, and its gradients equal to
// central finite differences of lm-saes's generic loss computed with the reference.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { lorsaKind } from '../../../src/core/dictionary/kinds/lorsa';
import { lorsaForward64, type Params64 } from '../../../src/core/dictionary/kinds/lorsa-math';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import type { LorsaConfig } from '../../../src/protocol/kind-configs/lorsa';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { lorsaCfg, randomParams, randomX, to64 } from './lorsa-fixtures';

function toTensors(params: HostParams): Record<string, tf.Tensor> {
  return Object.fromEntries(Object.entries(params).map(([k, t]) => [k, tf.tensor(t.data, t.shape)]));
}

/** lm-saes's generic loss: mean_t Σ_d (ŷ−y)² + l1 · mean_t Σ_F |f·n|. */
const L1 = 0.3;
function loss64(cfg: LorsaConfig, p: Params64, x: Float64Array, y: Float64Array, B: number, S: number): number {
  const { recon, featureActs } = lorsaForward64(cfg, p, x, B, S);
  const F = cfg.d_sae;
  const d = cfg.d_model;
  const n = Array.from({ length: F }, (_, i) => Math.hypot(...p.W_O!.subarray(i * d, (i + 1) * d)));
  const T = B * S;
  let rec = 0;
  for (let e = 0; e < recon.length; e++) rec += (recon[e]! - y[e]!) ** 2;
  let sp = 0;
  for (let e = 0; e < featureActs.length; e++) sp += Math.abs(featureActs[e]! * n[e % F]!);
  return rec / T + (L1 * sp) / T;
}

describeEachBackend('Lorsa tensor forward', () => {
  const B = 2;
  const S = 4;
  const variants: [string, Record<string, unknown>][] = [
    ['topk, rotary pairs', { act_fn: 'topk' }],
    [
      'relu, half rotary, QK norm',
      { act_fn: 'relu', rotary_adjacent_pairs: false, use_post_qk_ln: true, normalization_type: 'RMS' },
    ],
    ['jumprelu, rotary_scale 2', { act_fn: 'jumprelu', rotary_scale: 2, rotary_dim: 6 }],
    ['batchtopk, no rotary', { act_fn: 'batchtopk', positional_embedding_type: 'none', rotary_scale: 2 }],
  ];

  it.each(variants)('equals the reference (%s)', async (_name, overrides) => {
    const cfg = lorsaCfg(overrides);
    const params = randomParams(cfg, 41);
    if (cfg.act_fn === 'jumprelu') params['activation_function.log_jumprelu_threshold']!.data.fill(Math.log(0.05));
    const x = randomX(B * S * 8, 43);
    const want = lorsaKind.reference(cfg, params, { x, B, S });
    const before = tf.memory().numTensors;
    const ts = toTensors(params);
    const xT = tf.tensor3d(Float32Array.from(x), [B * S, 1, 8]);
    const out = lorsaKind.tf.forward(cfg, ts, xT, { seqLen: S, training: true });
    const norms = lorsaKind.tf.gateNorms(cfg, ts);
    expectClose(await out.featureActs.data(), want.featureActs, { rtol: 1e-4, label: 'featureActs' });
    expectClose(await out.hiddenPre.data(), want.hiddenPre, { rtol: 1e-4, label: 'hiddenPre' });
    expectClose(await out.recon.data(), want.recon, { rtol: 1e-4, label: 'recon' });
    expectClose(await norms.data(), lorsaKind.gateNorms(cfg, params), { rtol: 1e-6, label: 'gate norms' });
    tf.dispose([out.featureActs, out.hiddenPre, out.recon, norms, xT, ...Object.values(ts)]);
    expect(tf.memory().numTensors, 'tensors left behind').toBe(before);
  });

  it.each(variants)('gradients equal finite differences of the reference loss (%s)', async (_name, overrides) => {
    const cfg = lorsaCfg(overrides);
    const params = randomParams(cfg, 47);
    const thetaKey = 'activation_function.log_jumprelu_threshold';
    if (cfg.act_fn === 'jumprelu') params[thetaKey]!.data.fill(Math.log(0.05));
    const x = randomX(B * S * 8, 53);
    const y = randomX(B * S * 8, 59, 0.5);
    const trainable = lorsaKind.trainable(cfg);
    const ts = toTensors(params);
    const xT = tf.tensor3d(Float32Array.from(x), [B * S, 1, 8]);
    const yT = tf.tensor3d(Float32Array.from(y), [B * S, 1, 8]);
    const grads = tf.grads((...ws: tf.Tensor[]) => {
      const all = { ...ts, ...Object.fromEntries(trainable.map((k, i) => [k, ws[i]!])) };
      const out = lorsaKind.tf.forward(cfg, all, xT, { seqLen: S, training: true });
      const rec = tf.mean(tf.sum(tf.square(tf.sub(out.recon, yT)), -1));
      const n = tf.reshape(lorsaKind.tf.gateNorms(cfg, all), [1, 1, cfg.d_sae]);
      // |f·n| as relu(f·n) (f ≥ 0): its derivative at f = 0 is 0 like torch's, where tf.abs's would be −1.
      return tf.add(rec, tf.mul(L1, tf.mean(tf.sum(tf.relu(tf.mul(out.featureActs, n)), -1)))) as tf.Scalar;
    })(trainable.map((k) => ts[k]!));
    const p = to64(params);
    const h = 1e-5;
    for (const [gi, name] of trainable.entries()) {
      const got = await grads[gi]!.data();
      if (name === thetaKey) {
        // lm-saes's STE: dL/dlogθ_i = θ Σ_t (dL/dact)·(−θ/ε)·[|s−θ| < ε/2, s > 0], with act = f·n and s = z·n.
        const { featureActs: f, hiddenPre: z, recon } = lorsaForward64(cfg, p, x, B, S);
        const F = 12;
        const theta = 0.05;
        const want = new Float64Array(F);
        for (let t = 0; t < B * S; t++)
          for (let i = 0; i < F; i++) {
            const wo = p.W_O!.subarray(i * 8, (i + 1) * 8);
            const n = Math.hypot(...wo);
            const s = z[t * F + i]! * n;
            if (!(Math.abs(s - theta) < 1 && s > 0)) continue;
            const dLdf =
              wo.reduce((a, w, c) => a + (2 * (recon[t * 8 + c]! - y[t * 8 + c]!) * w) / (B * S), 0) +
              (L1 * n * Math.sign(f[t * F + i]!)) / (B * S);
            want[i]! += theta * (dLdf / n) * (-theta / cfg.jumprelu_threshold_window);
          }
        expectClose(got, want, { rtol: 1e-3, label: 'log θ straight-through gradient' });
        continue;
      }
      const w = p[name]!;
      const fd = Float64Array.from(w, (v, e) => {
        w[e] = v + h;
        const up = loss64(cfg, p, x, y, B, S);
        w[e] = v - h;
        const down = loss64(cfg, p, x, y, B, S);
        w[e] = v;
        return (up - down) / (2 * h);
      });
      expectClose(got, fd, { rtol: 1e-3, label: `d loss / d ${name}` });
    }
    tf.dispose([...grads, xT, yT, ...Object.values(ts)]);
  });
});
