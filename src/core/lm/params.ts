// The weights of a model in one canonical layout (linear maps stored [in, out], so x @ W needs no transpose),
// generic over where they live: host Float32Arrays while loading, tfjs tensors while running.

export interface HostTensor {
  data: Float32Array;
  shape: number[];
}

export interface NormParams<T> {
  w: T;
  b: T | null;
}

export interface AttentionParams<T> {
  W_Q: T; // [d_model, n_heads * d_head]
  W_K: T; // [d_model, n_kv_heads * d_head]
  W_V: T; // [d_model, n_kv_heads * d_head]
  W_O: T; // [n_heads * d_head, d_model]
  b_Q: T | null;
  b_K: T | null;
  b_V: T | null;
  b_O: T | null;
  qNorm: NormParams<T> | null; // over d_head (Qwen3)
  kNorm: NormParams<T> | null;
}

export interface MlpParams<T> {
  W_in: T; // [d_model, d_mlp] (the "up" projection of gated MLPs)
  b_in: T | null;
  W_gate: T | null; // [d_model, d_mlp], gated MLPs only
  W_out: T; // [d_mlp, d_model]
  b_out: T | null;
}

export interface BlockParams<T> {
  ln1: NormParams<T>;
  ln2: NormParams<T>;
  ln1Post: NormParams<T> | null;
  ln2Post: NormParams<T> | null;
  attn: AttentionParams<T>;
  mlp: MlpParams<T>;
}

export interface ModelParams<T> {
  W_E: T; // [d_vocab, d_model]
  W_pos: T | null; // [n_ctx, d_model]
  blocks: BlockParams<T>[];
  lnFinal: NormParams<T>;
  W_U: T; // [d_model, d_vocab]
  b_U: T | null;
}

type Mapper<A, B> = (value: A, path: string) => B;

const mapNorm = <A, B>(n: NormParams<A>, f: Mapper<A, B>, p: string): NormParams<B> => ({
  w: f(n.w, `${p}.w`),
  b: n.b === null ? null : f(n.b, `${p}.b`),
});
const mapOpt = <A, B>(v: A | null, f: Mapper<A, B>, p: string): B | null => (v === null ? null : f(v, p));

/** Applies `f` to every parameter, keeping the structure (used to upload host weights to a backend). */
export function mapParams<A, B>(params: ModelParams<A>, f: Mapper<A, B>): ModelParams<B> {
  return {
    W_E: f(params.W_E, 'W_E'),
    W_pos: mapOpt(params.W_pos, f, 'W_pos'),
    blocks: params.blocks.map((b, i) => {
      const p = `blocks.${i}`;
      const a = b.attn;
      const m = b.mlp;
      return {
        ln1: mapNorm(b.ln1, f, `${p}.ln1`),
        ln2: mapNorm(b.ln2, f, `${p}.ln2`),
        ln1Post: b.ln1Post && mapNorm(b.ln1Post, f, `${p}.ln1_post`),
        ln2Post: b.ln2Post && mapNorm(b.ln2Post, f, `${p}.ln2_post`),
        attn: {
          W_Q: f(a.W_Q, `${p}.attn.W_Q`),
          W_K: f(a.W_K, `${p}.attn.W_K`),
          W_V: f(a.W_V, `${p}.attn.W_V`),
          W_O: f(a.W_O, `${p}.attn.W_O`),
          b_Q: mapOpt(a.b_Q, f, `${p}.attn.b_Q`),
          b_K: mapOpt(a.b_K, f, `${p}.attn.b_K`),
          b_V: mapOpt(a.b_V, f, `${p}.attn.b_V`),
          b_O: mapOpt(a.b_O, f, `${p}.attn.b_O`),
          qNorm: a.qNorm && mapNorm(a.qNorm, f, `${p}.attn.q_norm`),
          kNorm: a.kNorm && mapNorm(a.kNorm, f, `${p}.attn.k_norm`),
        },
        mlp: {
          W_in: f(m.W_in, `${p}.mlp.W_in`),
          b_in: mapOpt(m.b_in, f, `${p}.mlp.b_in`),
          W_gate: mapOpt(m.W_gate, f, `${p}.mlp.W_gate`),
          W_out: f(m.W_out, `${p}.mlp.W_out`),
          b_out: mapOpt(m.b_out, f, `${p}.mlp.b_out`),
        },
      };
    }),
    lnFinal: mapNorm(params.lnFinal, f, 'ln_final'),
    W_U: f(params.W_U, 'W_U'),
    b_U: mapOpt(params.b_U, f, 'b_U'),
  };
}

/** Every parameter with its path, e.g. for disposing device tensors or counting parameters. */
export function listParams<T>(params: ModelParams<T>): [string, T][] {
  const out: [string, T][] = [];
  mapParams(params, (v, p) => {
    out.push([p, v]);
    return v;
  });
  return out;
}
