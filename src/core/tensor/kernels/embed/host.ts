// 'SaeEmbed' on the host backends: the token embedding rows W_E[ids] plus the position rows W_pos[pos0 + s] in one
// multi-threaded native pass (embedRows), where tfjs gathers [B, S, d] and then broadcasts an add over it on one
// thread. Each output is the one float add tf.add makes: the same bits.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../../native/native-blas';
import { checkedMemory, type HostBackendName } from '../../native/tensor-memory';
import { SAE_EMBED } from '../kernel-names';

interface EmbedKernels {
  embedRows(
    W_E: Float32Array,
    vocab: number,
    ids: Int32Array,
    W_pos: Float32Array | null,
    posRows: number,
    pos0: number,
    B: number,
    S: number,
    d: number,
    out: Float32Array,
  ): boolean;
}

/** Registers the kernel where the addon has embedRows (idempotent); returns whether it is available. */
export function registerHostEmbed(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_EMBED, backendName)) return true;
  const k = loadNativeBlas().blas as unknown as Partial<EmbedKernels> | null;
  if (!k || typeof k.embedRows !== 'function') return false;
  const native = k as EmbedKernels;
  tf.registerKernel({
    kernelName: SAE_EMBED,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { W_E, ids, W_pos } = inputs as Record<string, tf.TensorInfo | undefined>;
      const { pos0 } = attrs as unknown as { pos0: number };
      if (!W_E || !ids || W_E.shape.length !== 2 || ids.shape.length !== 2 || ids.dtype !== 'int32')
        throw new Error(`${SAE_EMBED}: expected W_E [vocab, d] and int32 ids [batch, seq]`);
      const [vocab, d] = W_E.shape as [number, number];
      const [B, S] = ids.shape as [number, number];
      if (W_pos && (W_pos.shape.length !== 2 || W_pos.shape[1] !== d || pos0 + S > W_pos.shape[0]!))
        throw new Error(`${SAE_EMBED}: W_pos must be [≥ ${pos0 + S}, ${d}]`);
      const mem = checkedMemory(backendName, backend, SAE_EMBED);
      const out = mem.allocate([B, S, d]);
      // Views only after the allocation: on wasm it may grow (and detach) the heap.
      const ran = native.embedRows(
        mem.f32(W_E),
        vocab,
        mem.i32(ids),
        W_pos ? mem.f32(W_pos) : null,
        W_pos ? W_pos.shape[0]! : 1,
        pos0,
        B,
        S,
        d,
        mem.f32(out),
      );
      if (!ran) {
        mem.dispose(out);
        throw new Error(`${SAE_EMBED}: a token id is outside [0, ${vocab})`);
      }
      return out;
    },
  });
  return true;
}
