// The zero-ablation losses of an evaluation resumed at the dictionary's own hook (from === hookOut), computed once
// per distinct position-0 row instead of once per window: the zero-ablated activation is [y₀, 0, 0, …], so every
// window starting with the same row (in practice all: BOS) has the same logits.
//
// Why this is exactly the per-window pass (evaluate.ts's resumedCrossEntropies, ablation through spliceNonBos):
// - A pass resumed at `from` embeds nothing: the blocks after it read the activation, and of the position only the
//   causal mask and rotary tables; the tokens are not read. Every op works on each window by itself (row-wise
//   norms, GELU and adds, attention within a window, and the sgemm, whose sum for one output depends on the
//   K blocking alone, not on how many rows the product has or how they are split between threads), so a window's
//   logits are a function of its activation, whatever else is in the batch.
// - Windows whose activations are equal to the bit (equal bytes of y₀; the zeros are +0 for all) thus have equal
//   logits, and one forward pass over one window of each distinct row gives every window's logits.
// - The native token losses compute (m + logf(sum)) − logit[t] per row, the first term rounded to float32:
//   'SaeTokenLse' computes that term by the same code, and the float32 subtraction done here in double and rounded
//   to float32 is the same (one rounding of an exact-enough double: 53 ≥ 2·24 + 2 bits).
// - The caller adds the losses into its sum window by window, position by position, as before: the same double.
// Without the native kernels (cpu backend, no addon, tfjs's formulation) this returns null and the caller runs the
// per-window pass.
import * as tf from '@tensorflow/tfjs-core';
import type { HookedTransformer } from '../lm/hooked-transformer';
import { tokenBatch, type TokenBatch } from '../lm/token-batch';
import { fusedTokenLse, tokenLseAvailable } from '../tensor/kernels/token-losses/op';

/** One distinct position-0 row's pass: the logsumexp of each position's logits [S] and the logits [S, V]. */
interface SharedPass {
  lse: Float32Array;
  logits: Float32Array;
}

/** Distinct rows kept between batches (8 MB of logits each for pdlm-4l-256's 256 × 8192): BOS needs one. */
const MAX_CACHED = 4;

export class SharedZeroAblation {
  private readonly cache = new Map<string, SharedPass>();

  constructor(
    private readonly model: HookedTransformer,
    /** The hook the passes resume at: the dictionary's output hook itself. */
    private readonly from: string,
  ) {}

  /**
   * The zero-ablation losses [B (S − 1)] of one batch whose activations at `from` are y [B, S, d], in the order of
   * tokenLosses; null where the native token-loss kernels are not the backend's, or when no two windows (nor a
   * cached pass) share their first row — then the per-window pass costs the same.
   */
  async losses(rows: TokenBatch, y: tf.Tensor): Promise<Float32Array | null> {
    if (!tokenLseAvailable()) return null;
    const [B, S, d] = y.shape as [number, number, number];
    const V = this.model.cfg.dVocab;
    const first = tf.slice(y, [0, 0, 0], [B, 1, d]); // [B, 1, d]
    try {
      const heads = (await first.data()) as Float32Array;
      const keys = Array.from({ length: B }, (_, b) =>
        Buffer.from(heads.buffer, heads.byteOffset + b * d * 4, d * 4).toString('latin1'),
      );
      const missing = [...new Set(keys)].filter((k) => !this.cache.has(k));
      if (B > 1 && missing.length === B) return null;
      if (missing.length > 0) await this.run(rows, first, keys, missing);
      const out = new Float32Array(B * (S - 1));
      for (let b = 0; b < B; b++) {
        const { lse, logits } = this.cache.get(keys[b]!)!;
        for (let s = 0; s < S - 1; s++) {
          const t = rows.ids[b * S + s + 1]!;
          out[b * (S - 1) + s] = t >= 0 && t < V ? Math.fround(lse[s]! - logits[s * V + t]!) : NaN;
        }
      }
      // Evicted only now: the batch above read every pass it needed (Map order: the oldest first).
      for (const k of this.cache.keys()) if (this.cache.size > MAX_CACHED) this.cache.delete(k);
      return out;
    } finally {
      first.dispose();
    }
  }

  /** One resumed pass over a window of each missing row, its logsumexps and logits cached. */
  private async run(rows: TokenBatch, first: tf.Tensor, keys: string[], missing: string[]): Promise<void> {
    const [B, , d] = first.shape as [number, number, number];
    const S = rows.seq;
    const V = this.model.cfg.dVocab;
    const reps = missing.map((k) => keys.indexOf(k)); // the first window with each missing row
    const G = reps.length;
    const activation = tf.tidy(() => {
      const heads = tf.gather(first.reshape([B, d]), tf.tensor1d(reps, 'int32')).reshape([G, 1, d]);
      return tf.concat([heads, tf.zeros([G, S - 1, d])], 1); // [G, S, d]: spliceNonBos(y, zeros) of each rep
    });
    const tokens = tokenBatch(reps.map((b) => rows.ids.subarray(b * S, (b + 1) * S)));
    const { logits } = this.model.forward(tokens, { from: { hook: this.from, activation } });
    activation.dispose();
    if (!logits) throw new Error('evaluate: the forward pass computed no logits');
    const flat = logits.reshape([G * S, V]) as tf.Tensor2D;
    const lse = fusedTokenLse(flat); // [G S]
    flat.dispose();
    if (!lse) throw new Error('evaluate: the native logsumexp went away during the evaluation');
    const [lseHost, logitsHost] = (await Promise.all([lse.data(), logits.data()])) as [Float32Array, Float32Array];
    tf.dispose([lse, logits]);
    missing.forEach((k, g) =>
      this.cache.set(k, {
        lse: lseHost.slice(g * S, (g + 1) * S),
        logits: logitsHost.slice(g * S * V, (g + 1) * S * V),
      }),
    );
  }
}
