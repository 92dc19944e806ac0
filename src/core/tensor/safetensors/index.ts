// Public API of the safetensors reader/writer (plain typed arrays, no tfjs).

export { SAFETENSORS_DTYPES, DTYPE_BYTES, isSafetensorsDtype, type SafetensorsDtype } from './dtypes';
export { SafetensorsError } from './safetensors-error';
export { MAX_HEADER_BYTES, type SafetensorsTensorInfo } from './header';
export { openSafetensors, readSafetensorsHeader, type SafetensorsFile, type SafetensorsHeader } from './reader';
export type { TensorData } from './encode';
export type { TensorToWrite } from './layout';
export { readWeight } from './read-weight';
export { serializeSafetensors } from './serialize';
export { writeSafetensors } from './writer';
export {
  toF16Bits,
  fromF16Bits,
  toBf16Bits,
  fromBf16Bits,
  toF16Array,
  toBf16Array,
  f16ToFloat32Array,
  bf16ToFloat32Array,
} from './half-float';
