// Identity whose gradient is zero (tfjs has no stop_gradient / detach).
import * as tf from '@tensorflow/tfjs-core';

const detach = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]);

export function stopGradient<T extends tf.Tensor>(x: T): T {
  return detach(x) as T;
}
