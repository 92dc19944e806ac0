// MLP activation functions, written out as Hugging Face defines them.
import * as tf from '@tensorflow/tfjs-core';
import { fusedGeluNew } from '../../tensor/kernels/gelu-new/op';
import type { ActivationName } from '../model-config';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function activate(name: ActivationName, x: tf.Tensor): tf.Tensor {
  switch (name) {
    case 'gelu_new': {
      // tanh approximation (HF NewGELUActivation / gelu_pytorch_tanh): 0.5·x·(1 + tanh(u)) = x·σ(2u), with
      // u = √(2/π)(x + 0.044715 x³); σ and products are ~10× faster than tanh and pow on the wasm backend, and
      // the native kernel does it all in one pass where it can (forward passes, AVX-512).
      const fused = fusedGeluNew(x);
      if (fused) return fused;
      const u2 = tf.mul(x, tf.add(2 * SQRT_2_OVER_PI, tf.mul(tf.square(x), 2 * SQRT_2_OVER_PI * 0.044715)));
      return tf.mul(x, tf.sigmoid(u2));
    }
    case 'gelu': // exact: 0.5 x (1 + erf(x / sqrt 2))
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'relu':
      return tf.relu(x);
  }
}
