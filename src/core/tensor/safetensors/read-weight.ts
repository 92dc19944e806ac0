// Reads a trained weight as float32, refusing what no training writes: an integer dtype (the values would be read as
// numbers, not as the float bits they were) and NaN or infinite values (every output they touch becomes NaN).
import { SafetensorsError } from './safetensors-error';
import type { SafetensorsFile } from './reader';

const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16']);

/**
 * `file`'s tensor `name` as float32. Thresholds may be ±∞ (a JumpReLU latent that always or never fires, which a
 * zero threshold's logarithm gives), never NaN.
 */
export function readWeight(file: SafetensorsFile, name: string): Float32Array {
  const { dtype } = file.info(name);
  if (!FLOAT_DTYPES.has(dtype))
    throw new SafetensorsError(
      file.path,
      `tensor '${name}' has dtype ${dtype}, expected a float weight (F32, F16, BF16, F64)`,
    );
  const data = file.readFloat32(name);
  const infinityAllowed = name.includes('threshold');
  const bad = data.findIndex((v) => Number.isNaN(v) || (!infinityAllowed && !Number.isFinite(v)));
  if (bad >= 0)
    throw new SafetensorsError(
      file.path,
      `tensor '${name}' holds ${data[bad]} at element ${bad}; expected finite weights`,
    );
  return data;
}
