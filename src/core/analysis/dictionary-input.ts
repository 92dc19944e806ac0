// The dictionary's input for a batch of windows: the model run up to hook_point_in (runWithCache stops there),
// flattened to rows, optionally only the kept rows, and scaled into the dictionary's normalised space.
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { HookedTransformer } from '../lm/hooked-transformer';
import type { TokenBatch } from '../lm/token-batch';
import { datasetScale, type SparseDictionary } from '../sae/sparse-dictionary';

/** [rows, d_in]: every position of `batch` row-major, or only the flat positions in `keep`. */
export function dictionaryInput(
  model: HookedTransformer,
  dict: SparseDictionary,
  batch: TokenBatch,
  keep?: Int32Array,
): tf.Tensor2D {
  const hook = dict.cfg.hook_point_in;
  const scale = datasetScale(dict.cfg, hook);
  return tf.tidy(() => {
    const x = model.runWithCache(batch, [hook]).cache[hook]; // [B, S, d]
    if (!x) throw new Error(`${hook}: not in the model's cache`);
    const d = x.shape[x.shape.length - 1];
    if (x.rank !== 3 || d !== dict.cfg.d_model) {
      throw new InputError(
        `${hook} has shape [${x.shape}], expected [batch, seq, ${dict.cfg.d_model}] (the dictionary's d_model)`,
      );
    }
    let rows = x.reshape([batch.batch * batch.seq, d]) as tf.Tensor2D;
    if (keep) rows = tf.gather(rows, tf.tensor1d(keep, 'int32'));
    return scale === 1 ? rows : (tf.mul(rows, scale) as tf.Tensor2D);
  });
}
