// Runs a forward pass over token ids and writes logits and the requested hook activations to a safetensors
// file (F32, one tensor per hook, named by the hook).
import * as tf from '@tensorflow/tfjs-core';
import { writeSafetensors, type TensorToWrite } from '../tensor/safetensors';
import type { HookedTransformer } from './hooked-transformer';
import { sliceRows, type TokenBatch } from './token-batch';

export interface ForwardToFileOptions {
  hooks: string[];
  /** Include the logits (default true). */
  logits?: boolean;
  batchSize?: number;
}

export async function forwardToFile(
  model: HookedTransformer,
  input: TokenBatch,
  outPath: string,
  opts: ForwardToFileOptions,
): Promise<Record<string, number[]>> {
  const withLogits = opts.logits ?? true;
  const names = [...new Set(opts.hooks)];
  const batchSize = opts.batchSize ?? input.batch;
  const parts = new Map<string, { chunks: Float32Array[]; shape: number[] }>();
  for (let start = 0; start < input.batch; start += batchSize) {
    const rows = sliceRows(input, start, batchSize);
    const out = model.forward(rows, { cache: names, logits: withLogits });
    const entries: [string, tf.Tensor][] = Object.entries(out.cache);
    if (out.logits) entries.unshift(['logits', out.logits]);
    for (const [name, t] of entries) {
      const data = (await t.data()) as Float32Array;
      const slot = parts.get(name) ?? { chunks: [], shape: [...t.shape] };
      if (slot.chunks.length > 0) slot.shape[0] = slot.shape[0]! + t.shape[0];
      slot.chunks.push(data);
      parts.set(name, slot);
    }
    tf.dispose(entries.map(([, t]) => t));
  }
  const tensors: Record<string, TensorToWrite> = {};
  const shapes: Record<string, number[]> = {};
  for (const [name, { chunks, shape }] of parts) {
    tensors[name] = { dtype: 'F32', shape, data: concat(chunks) };
    shapes[name] = shape;
  }
  writeSafetensors(outPath, tensors, { producer: 'sae-studio lm forward' });
  return shapes;
}

function concat(chunks: Float32Array[]): Float32Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
