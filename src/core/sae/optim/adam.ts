// Adam (Kingma & Ba 2015) with per-parameter learning-rate factors and bias correction: the fused native kernel where
// the backend has it, else plain tfjs ops; its state (m, v, step) can be checkpointed and restored bit-for-bit.
// adam-reference.ts is the float64 reference every implementation is tested against.
import * as tf from '@tensorflow/tfjs-core';
import { nativeAdamUpdate, type AdamAttrs } from '../../tensor/kernels/adam-update/op';
import { normalizeRows, projectOutRows } from '../../tensor/kernels/unit-rows/op';

export interface AdamOptions {
  beta1: number;
  beta2: number;
  eps: number;
}

/**
 * One Adam step of a parameter in plain tfjs ops, [p', m', v'] (what runs where the fused kernel does not):
 * m' = β1 m + (1 − β1) g, v' = β2 v + (1 − β2) g², p' = p − stepSize · m' / (√v' / sqrtC2 + ε), with m̂ = m / c1 and
 * v̂ = v / c2 folded into stepSize and sqrtC2 (PyTorch's formulation). With `unitRowLength` the gradient first loses
 * its component along each row of p and the rows are renormalised after.
 */
export function adamUpdateOps(
  p: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  a: AdamAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const unit = a.unitRowLength !== undefined;
    const gr = unit ? projectOutRows(g as tf.Tensor2D, p as tf.Tensor2D) : g;
    const mNew = tf.add(tf.mul(m, a.beta1), tf.mul(gr, 1 - a.beta1));
    const vNew = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(gr), 1 - a.beta2));
    const stepped = tf.sub(p, tf.mul(tf.div(mNew, tf.add(tf.div(tf.sqrt(vNew), a.sqrtC2), a.eps)), a.stepSize));
    return [unit ? normalizeRows(stepped as tf.Tensor2D) : stepped, mNew, vNew];
  });
}

export class Adam {
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();
  step = 0;

  constructor(
    private readonly params: Record<string, tf.Variable>,
    readonly opts: AdamOptions = { beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  ) {
    for (const [name, p] of Object.entries(params)) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /**
   * One update with learning rate `lr` (times `lrFactor[name]` where given). Parameters named in `unitNormRows`
   * are matrices whose rows stay at unit norm: their gradient loses its component along each row before the
   * update and the rows are renormalised after (in one fused pass where the native kernel runs).
   */
  apply(
    grads: Record<string, tf.Tensor>,
    lr: number,
    lrFactor: Record<string, number> = {},
    unitNormRows: readonly string[] = [],
  ): void {
    const { beta1, beta2, eps } = this.opts;
    const step = this.begin(lr, lrFactor);
    tf.tidy(() => {
      for (const [name, grad] of Object.entries(grads)) {
        const p = this.params[name];
        const m = this.m.get(name);
        const v = this.v.get(name);
        if (!p || !m || !v) throw new Error(`Adam: no parameter '${name}' to update`);
        const unit = unitNormRows.includes(name);
        const attrs: AdamAttrs = {
          stepSize: step.stepSize(name),
          beta1,
          beta2,
          eps,
          sqrtC2: step.sqrtC2,
          ...(unit ? { unitRowLength: p.shape[1] } : {}),
        };
        const [pNew, mNew, vNew] = nativeAdamUpdate(p, grad, m, v, attrs) ?? adamUpdateOps(p, grad, m, v, attrs);
        this.update(name, pNew, mNew, vNew);
      }
    });
  }

  /**
   * Counts one more step and gives its constants: each parameter's step size lr · factor / (1 − beta1^t) and
   * sqrt(1 − beta2^t) (apply() uses these; a fused kernel that updates the parameters itself asks for them too).
   */
  begin(lr: number, lrFactor: Record<string, number> = {}): { stepSize(name: string): number; sqrtC2: number } {
    this.step += 1;
    const c1 = 1 - this.opts.beta1 ** this.step;
    const c2 = 1 - this.opts.beta2 ** this.step;
    return { stepSize: (name) => (lr * (lrFactor[name] ?? 1)) / c1, sqrtC2: Math.sqrt(c2) };
  }

  /** Takes the updated parameter and moments of `name` (the caller disposes its own handles to them). */
  update(name: string, p: tf.Tensor, m: tf.Tensor, v: tf.Tensor): void {
    this.params[name]!.assign(p);
    this.m.get(name)!.assign(m);
    this.v.get(name)!.assign(v);
  }

  /** The optimizer state as named tensors, for checkpoints. */
  state(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [k, t] of this.m) out[`adam.m.${k}`] = t;
    for (const [k, t] of this.v) out[`adam.v.${k}`] = t;
    return out;
  }

  load(state: Record<string, Float32Array>, step: number): void {
    // The loaded tensors are released once assigned: the moments then own their data alone (the fused step
    // updates such tensors in place).
    const put = (t: tf.Variable, data: Float32Array) => {
      const loaded = tf.tensor(data, t.shape);
      t.assign(loaded);
      loaded.dispose();
    };
    for (const [k, t] of this.m) put(t, state[`adam.m.${k}`]!);
    for (const [k, t] of this.v) put(t, state[`adam.v.${k}`]!);
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
