// Rotary position embeddings as Hugging Face computes them (float32 inverse frequencies, rotate_half on the
// first `dim` dimensions of each head), including linear and Llama-3.1 frequency scaling.
import * as tf from '@tensorflow/tfjs-core';
import type { RotaryConfig } from '../model-config';

const f = Math.fround;

export function inverseFrequencies(cfg: RotaryConfig): Float32Array {
  const half = cfg.dim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(cfg.theta, f(f(2 * i) / cfg.dim))));
  const s = cfg.scaling;
  if (s.type === 'linear') for (let i = 0; i < half; i++) inv[i] = f(inv[i]! / s.factor);
  if (s.type === 'llama3') {
    const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const freq = inv[i]!;
      const wavelen = (2 * Math.PI) / freq;
      if (wavelen > lowWavelen) inv[i] = f(freq / s.factor);
      else if (wavelen >= highWavelen) {
        const smooth =
          (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = f((1 - smooth) * (freq / s.factor) + smooth * freq);
      }
    }
  }
  return inv;
}

/** cos and sin tables [seq, dim] (each frequency repeated for both halves, as HF concatenates them). */
export function rotaryTables(cfg: RotaryConfig, seq: number): { cos: Float32Array; sin: Float32Array } {
  const inv = inverseFrequencies(cfg);
  const half = cfg.dim / 2;
  const cos = new Float32Array(seq * cfg.dim);
  const sin = new Float32Array(seq * cfg.dim);
  for (let p = 0; p < seq; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f(p * inv[i]!);
      const c = f(Math.cos(angle));
      const s = f(Math.sin(angle));
      cos[p * cfg.dim + i] = c;
      cos[p * cfg.dim + half + i] = c;
      sin[p * cfg.dim + i] = s;
      sin[p * cfg.dim + half + i] = s;
    }
  }
  return { cos, sin };
}

/**
 * x: [batch, seq, heads, d_head]; cos/sin: [1, seq, 1, dim]. Rotates the first `dim` dims with
 * x * cos + rotate_half(x) * sin, where rotate_half(a, b) = (-b, a), and passes the rest through.
 */
export function applyRotary(x: tf.Tensor4D, cos: tf.Tensor, sin: tf.Tensor, dim: number): tf.Tensor4D {
  const [b, s, h, dHead] = x.shape;
  const half = dim / 2;
  const rot = dim === dHead ? x : tf.slice(x, [0, 0, 0, 0], [b, s, h, dim]);
  const x1 = tf.slice(rot, [0, 0, 0, 0], [b, s, h, half]);
  const x2 = tf.slice(rot, [0, 0, 0, half], [b, s, h, half]);
  const rotated = tf.add(tf.mul(rot, cos), tf.mul(tf.concat([tf.neg(x2), x1], 3), sin));
  if (dim === dHead) return rotated as tf.Tensor4D;
  return tf.concat([rotated, tf.slice(x, [0, 0, 0, dim], [b, s, h, dHead - dim])], 3) as tf.Tensor4D;
}
