// Small float64 host arithmetic shared by the format converters: decoder row norms and the encoder-bias shift
// that moves apply_decoder_bias_to_pre_encoder into b_E.
import { hostParam, type HostParams } from '../host-tensor';

/** ‖W_D,i‖ for each latent of W_D [d_sae, d_out]: [d_sae]. */
export function decoderNorms(W_D: Float32Array, dSae: number, dOut: number): Float64Array {
  const norms = new Float64Array(dSae);
  for (let i = 0; i < dSae; i++) {
    let s = 0;
    for (let j = 0; j < dOut; j++) s += W_D[i * dOut + j]! ** 2;
    norms[i] = Math.sqrt(s);
  }
  return norms;
}

/**
 * b_E + sign · (b_D W_E): [d_sae]. With sign −1, x W_E + (b_E − b_D W_E) = (x − b_D) W_E + b_E, so a dictionary
 * that subtracts b_D from its input becomes one that does not; sign +1 undoes it. Without b_D it is b_E.
 */
export function encoderBiasShift(params: HostParams, sign: 1 | -1): Float32Array {
  const W_E = hostParam(params, 'W_E'); // [d_in, d_sae]
  const b_E = hostParam(params, 'b_E').data; // [d_sae]
  const b_D = params.b_D?.data; // [d_in]
  if (!b_D) return Float32Array.from(b_E);
  const [dIn, dSae] = W_E.shape as [number, number];
  const shift = new Float64Array(dSae);
  for (let i = 0; i < dIn; i++) {
    const b = b_D[i]!;
    if (b === 0) continue;
    for (let j = 0; j < dSae; j++) shift[j]! += b * W_E.data[i * dSae + j]!;
  }
  return Float32Array.from(b_E, (v, j) => v + sign * shift[j]!);
}
