// The gradient of 'SaeRowSqErr' (any backend that has the kernel): one 'SaeRowSqErrGrad' pass per input asked for.
import * as tf from '@tensorflow/tfjs-core';
import { SAE_ROW_SQ_ERR, SAE_ROW_SQ_ERR_GRAD } from '../kernel-names';

export const rowSqErrGradConfig: tf.GradConfig = {
  kernelName: SAE_ROW_SQ_ERR,
  inputsToSave: ['a', 'b'],
  // One pass per input asked for (tfjs runs each input's gradient in its own tidy, so two cannot share one
  // kernel's outputs); in training only the reconstruction's is asked for.
  gradFunc: (dy, saved) => {
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const grad = (wrt: 'a' | 'b') => () =>
      tf.engine().runKernel(SAE_ROW_SQ_ERR_GRAD, { a, b, dy: dy as tf.Tensor }, {
        wrt,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return { a: grad('a'), b: grad('b') };
  },
};
