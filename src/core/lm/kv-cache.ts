// The keys and values of every attention layer for the positions already processed, so that decoding one more
// token runs the model on that token alone (Hugging Face's DynamicCache; nanoGPT-style incremental decoding).
// Keys are stored after q/k norms and rotary embeddings at their absolute positions, values as projected, both
// before grouped-query heads are repeated ([batch, past, n_kv_heads, d_head]). Sliding-window layers keep every
// position too: the additive mask (see causalMask) hides what lies outside the window, as a full forward does.
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { ModelConfig } from './model-config';
import { rotaryTables } from './components/rotary';

export interface LayerKv {
  k: tf.Tensor4D; // [batch, past, n_kv_heads, d_head]
  v: tf.Tensor4D; // [batch, past, n_kv_heads, d_head]
}

export class KvCache {
  private readonly layers: (LayerKv | null)[];
  private pastLength = 0;
  private pending = 0;
  private tables: { cos: tf.Tensor; sin: tf.Tensor } | null = null;
  private disposed = false;

  /** `capacity`: the most positions this cache will hold (prompt + new tokens), at most the model's n_ctx. */
  constructor(
    readonly cfg: ModelConfig,
    readonly batch: number,
    readonly capacity: number = cfg.nCtx,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > cfg.nCtx)
      throw new InputError(`KV cache capacity ${capacity}: expected an integer in 1..${cfg.nCtx} (the model's n_ctx)`);
    this.layers = new Array<LayerKv | null>(cfg.nLayers).fill(null);
  }

  /** Positions already cached: the absolute position of the next token. */
  get length(): number {
    return this.pastLength;
  }

  /** Called by the forward pass before it runs `seq` new positions; checks they fit. */
  begin(batch: number, seq: number): void {
    if (this.disposed) throw new Error('KvCache used after dispose()');
    if (batch !== this.batch) throw new InputError(`KV cache holds batch ${this.batch}, got a batch of ${batch}`);
    if (this.pastLength + seq > this.capacity)
      throw new InputError(
        `KV cache: ${this.pastLength} cached + ${seq} new positions exceed its capacity of ${this.capacity}`,
      );
    this.pending = seq;
  }

  /** Called once the forward pass has appended every layer's new keys and values. */
  commit(): void {
    this.pastLength += this.pending;
    this.pending = 0;
  }

  /**
   * Appends this layer's keys and values for the new positions and returns the whole sequence's
   * ([batch, past + seq, n_kv_heads, d_head]). The stored tensors are kept outside any tf.tidy.
   */
  extend(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): LayerKv {
    const prev = this.layers[layer] ?? null;
    const next: LayerKv = prev
      ? { k: tf.keep(tf.concat([prev.k, k], 1)), v: tf.keep(tf.concat([prev.v, v], 1)) }
      : { k: tf.keep(tf.clone(k)), v: tf.keep(tf.clone(v)) };
    if (prev) tf.dispose([prev.k, prev.v]);
    this.layers[layer] = next;
    return next;
  }

  /** Rotary cos / sin tables [1, seq, 1, dim] for the new positions (past .. past + seq − 1). */
  rotary(seq: number): { cos: tf.Tensor | null; sin: tf.Tensor | null } {
    const r = this.cfg.rotary;
    if (!r) return { cos: null, sin: null };
    if (!this.tables) {
      const { cos, sin } = rotaryTables(r, this.capacity);
      this.tables = {
        cos: tf.keep(tf.tensor4d(cos, [1, this.capacity, 1, r.dim])),
        sin: tf.keep(tf.tensor4d(sin, [1, this.capacity, 1, r.dim])),
      };
    }
    const begin = [0, this.pastLength, 0, 0];
    const size = [1, seq, 1, r.dim];
    return { cos: tf.slice(this.tables.cos, begin, size), sin: tf.slice(this.tables.sin, begin, size) };
  }

  /** Additive mask [seq, past + seq]: query i (absolute past + i) sees keys j ≤ past + i, and > past + i − window. */
  mask(seq: number, window: number | null): tf.Tensor2D {
    const past = this.pastLength;
    const total = past + seq;
    const m = new Float32Array(seq * total);
    for (let i = 0; i < seq; i++) {
      const q = past + i;
      for (let j = 0; j < total; j++) m[i * total + j] = j <= q && (window === null || j > q - window) ? 0 : -1e9;
    }
    return tf.tensor2d(m, [seq, total]);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const l of this.layers) if (l) tf.dispose([l.k, l.v]);
    if (this.tables) tf.dispose([this.tables.cos, this.tables.sin]);
    this.layers.fill(null);
  }
}
