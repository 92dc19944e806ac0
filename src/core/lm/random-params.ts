// Randomly initialised weights for any ModelConfig (GPT-2-style init: N(0, 0.02) matrices, unit norms, zero
// biases), seeded; for benchmarks and tests of model shapes no checkpoint exists for.
import type { ModelConfig } from './model-config';
import type { HostTensor, ModelParams, NormParams } from './params';

/** Deterministic standard normals (mulberry32 + Box-Muller). */
export function normalGenerator(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

export function randomParams(cfg: ModelConfig, seed = 0, std = 0.02): ModelParams<HostTensor> {
  const normal = normalGenerator(seed);
  const mat = (...shape: number[]): HostTensor => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = normal() * std;
    return { data, shape };
  };
  const fill = (n: number, v: number): HostTensor => ({ data: new Float32Array(n).fill(v), shape: [n] });
  const norm = (n: number): NormParams<HostTensor> => ({
    w: fill(n, 1),
    b: cfg.normType === 'layernorm' ? fill(n, 0) : null,
  });
  const d = cfg.dModel;
  const q = cfg.nHeads * cfg.dHead;
  const kv = cfg.nKvHeads * cfg.dHead;
  const W_E = mat(cfg.dVocab, d);
  return {
    W_E,
    W_pos: cfg.rotary ? null : mat(cfg.nCtx, d),
    blocks: Array.from({ length: cfg.nLayers }, () => ({
      ln1: norm(d),
      ln2: norm(d),
      ln1Post: cfg.postNorms ? norm(d) : null,
      ln2Post: cfg.postNorms ? norm(d) : null,
      attn: {
        W_Q: mat(d, q),
        W_K: mat(d, kv),
        W_V: mat(d, kv),
        W_O: mat(q, d),
        b_Q: null,
        b_K: null,
        b_V: null,
        b_O: null,
        qNorm: cfg.qkNorm ? norm(cfg.dHead) : null,
        kNorm: cfg.qkNorm ? norm(cfg.dHead) : null,
      },
      mlp: {
        W_in: mat(d, cfg.dMlp),
        b_in: null,
        W_gate: cfg.gatedMlp ? mat(d, cfg.dMlp) : null,
        W_out: mat(cfg.dMlp, d),
        b_out: null,
      },
    })),
    lnFinal: norm(d),
    W_U: mat(d, cfg.dVocab),
    b_U: null,
  };
}
