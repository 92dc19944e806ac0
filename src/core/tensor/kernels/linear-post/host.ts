// 'SaeLinearPost' on the host backends: x·W + b with what the LM does next to it — the residual add after an
// output projection, the tanh GELU after the MLP's input projection — applied by the addon's sgemm to each tile of
// the output right after its last K block is written (sgemmPost), while the tile is still in cache: no second
// pass over the [rows, out] tensor, and none of tfjs's single-threaded add. Same float operations, same bits.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../../native/native-blas';
import type { HostBackendName } from '../../native/tensor-memory';
import { SAE_LINEAR_POST } from '../kernel-names';
import { nativeViewer } from '../native-view';

/** The post-ops by name, as sgemmPost numbers them. */
export const LINEAR_POSTS = { add: 1, gelu_new: 2 } as const;
export type LinearPost = keyof typeof LINEAR_POSTS;

/** Registers the kernel where the addon has sgemmPost (idempotent); returns whether it is available. */
export function registerHostLinearPost(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_LINEAR_POST, backendName)) return true;
  const blas = loadNativeBlas().blas;
  if (!blas || typeof blas.sgemmPost !== 'function') return false;
  const sgemmPost = blas.sgemmPost.bind(blas);
  tf.registerKernel({
    kernelName: SAE_LINEAR_POST,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w, bias, r } = inputs as Record<string, tf.TensorInfo | undefined>;
      const post = (attrs as unknown as { post: LinearPost }).post;
      if (!x || !w || x.shape.length !== 2 || w.shape.length !== 2 || x.shape[1] !== w.shape[0])
        throw new Error(`${SAE_LINEAR_POST}: expected x [rows, k] and W [k, n]`);
      const [m, k] = x.shape as [number, number];
      const n = w.shape[1]!;
      if (bias && tf.util.sizeFromShape(bias.shape) !== n)
        throw new Error(`${SAE_LINEAR_POST}: bias must hold ${n} values`);
      if (post === 'add' && (!r || tf.util.sizeFromShape(r.shape) !== m * n))
        throw new Error(`${SAE_LINEAR_POST}: the residual must hold ${m} x ${n} values`);
      const { mem, view } = nativeViewer(backendName, backend, SAE_LINEAR_POST);
      const out = mem.allocate([m, n]);
      // Views only after the allocation: on wasm it may grow (and detach) the heap.
      const ran = sgemmPost(
        m,
        n,
        k,
        view(x),
        view(w),
        bias ? view(bias) : null,
        LINEAR_POSTS[post],
        post === 'add' ? view(r!) : null,
        view(out),
      );
      if (!ran) {
        mem.dispose(out);
        throw new Error(`${SAE_LINEAR_POST}: ${post} is not available on this CPU`);
      }
      return out;
    },
  });
  return true;
}
