// In-memory safetensors encoding, for small files and tests: the same bytes `writeSafetensors` puts on disk.

import { encodeTensorData } from './encode';
import { planSafetensors, type TensorToWrite } from './layout';

export function serializeSafetensors(
  tensors: Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const file = '<memory>';
  const plan = planSafetensors(tensors, metadata, file);
  const out = new Uint8Array(plan.byteLength);
  out.set(plan.head, 0);
  for (const t of plan.tensors) {
    out.set(encodeTensorData(t.tensor.dtype, t.tensor.data, { file, tensor: t.name }), plan.head.length + t.byteOffset);
  }
  return out;
}
