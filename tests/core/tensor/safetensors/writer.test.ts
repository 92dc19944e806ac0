import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  SafetensorsError,
  openSafetensors,
  serializeSafetensors,
  writeSafetensors,
} from '../../../../src/core/tensor/safetensors';
import { useTempDirs } from './helpers';

const le64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const f32Bytes = (values: number[]): Buffer => Buffer.from(new Float32Array(values).buffer);

function headerText(bytes: Uint8Array): string {
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  return Buffer.from(bytes)
    .subarray(8, 8 + n)
    .toString('utf8');
}

describe('serializeSafetensors layout', () => {
  // The vectors of the reference implementation's own tests (huggingface/safetensors, tensor.rs).
  it('produces the bytes of the reference serializer', () => {
    const data = [0, 1, 2, 3, 4, 5];
    expect(Buffer.from(serializeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data } }))).toEqual(
      Buffer.concat([
        le64(64),
        Buffer.from('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'),
        f32Bytes(data),
      ]),
    );
    expect(Buffer.from(serializeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data } }))).toEqual(
      Buffer.concat([
        le64(72),
        Buffer.from(`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}${' '.repeat(7)}`),
        f32Bytes(data),
      ]),
    );
    expect(Buffer.from(serializeSafetensors({}))).toEqual(Buffer.concat([le64(8), Buffer.from('{}      ')]));
    expect(Buffer.from(serializeSafetensors({}, { framework: 'pt' }))).toEqual(
      Buffer.concat([le64(40), Buffer.from('{"__metadata__":{"framework":"pt"}}     ')]),
    );
  });

  it('orders tensors like the reference writer: dtype rank descending, then name by code point', () => {
    const one = <D extends 'F32' | 'I64' | 'U8' | 'F16' | 'BF16'>(dtype: D) => ({ dtype, shape: [1], data: [1] });
    const bytes = serializeSafetensors(
      {
        b: one('F32'),
        a: one('F32'),
        c: one('I64'),
        d: one('U8'),
        e: one('F16'),
        f: one('BF16'),
        '9': one('U8'),
        '10': one('U8'),
      },
      { format: 'pt' },
    );
    const header = headerText(bytes);
    expect(header.startsWith('{"__metadata__":{"format":"pt"},"c":')).toBe(true);
    expect(Object.keys(JSON.parse(header) as object)).toHaveLength(9);
    const order = [...header.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]);
    expect(order).toEqual(['c', 'a', 'b', 'f', 'e', '10', '9', 'd']);
    expect((header.length + 8) % 8).toBe(0);
    expect(header.trimEnd().length).toBeGreaterThan(header.length - 8);
  });

  it('rejects bad tensors before producing anything', () => {
    expect(() => serializeSafetensors({ w: { dtype: 'F32', shape: [2, 3], data: new Float32Array(5) } })).toThrow(
      "<memory>: tensor 'w': data has 5 elements but shape [2, 3] needs 6",
    );
    expect(() => serializeSafetensors({ w: { dtype: 'F8' as 'F32', shape: [1], data: [1] } })).toThrow(
      'tensor \'w\': unknown dtype "F8"',
    );
    expect(() => serializeSafetensors({ w: { dtype: 'F32', shape: [-1], data: [] } })).toThrow(
      "tensor 'w': shape must be an array of non-negative integers",
    );
    expect(() => serializeSafetensors({ __metadata__: { dtype: 'F32', shape: [1], data: [1] } })).toThrow(
      'reserved for the metadata',
    );
    expect(() => serializeSafetensors({}, { epoch: 3 as unknown as string })).toThrow(
      '__metadata__.epoch must be a string, got 3',
    );
  });
});

describe('writeSafetensors', () => {
  const tempDir = useTempDirs();
  const tensors = { w: { dtype: 'F32' as const, shape: [2], data: [1, 2] } };

  it('leaves only the target file behind', () => {
    const dir = tempDir();
    writeSafetensors(join(dir, 'sae.safetensors'), tensors, { sae_type: 'topk' });
    expect(readdirSync(dir)).toEqual(['sae.safetensors']);
    expect(readFileSync(join(dir, 'sae.safetensors'))).toEqual(
      Buffer.from(serializeSafetensors(tensors, { sae_type: 'topk' })),
    );
  });

  it('replaces an existing file', () => {
    const dir = tempDir();
    const path = join(dir, 'sae.safetensors');
    writeFileSync(path, 'old');
    writeSafetensors(path, tensors);
    const file = openSafetensors(path);
    expect(Array.from(file.readFloat32('w'))).toEqual([1, 2]);
    file.close();
    expect(readdirSync(dir)).toEqual(['sae.safetensors']);
  });

  it('fails on a directory that does not exist, naming the target, and creates nothing', () => {
    const dir = tempDir();
    const path = join(dir, 'missing', 'sae.safetensors');
    expect(() => writeSafetensors(path, tensors)).toThrow(SafetensorsError);
    expect(() => writeSafetensors(path, tensors)).toThrow(`${path}: cannot create a temporary file beside it`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('creates no file when the data does not match the shape', () => {
    const dir = tempDir();
    const path = join(dir, 'sae.safetensors');
    expect(() => writeSafetensors(path, { w: { dtype: 'F32', shape: [3], data: [1, 2] } })).toThrow(
      `${path}: tensor 'w': data has 2 elements but shape [3] needs 3`,
    );
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('keeps the previous file intact when a write fails half way', () => {
    const dir = tempDir();
    const path = join(dir, 'sae.safetensors');
    writeSafetensors(path, tensors);
    const before = readFileSync(path);
    // `a` is written first; `b` holds a value I8 cannot store, found only while writing.
    expect(() =>
      writeSafetensors(path, {
        a: { dtype: 'F32', shape: [1], data: [1] },
        b: { dtype: 'I8', shape: [1], data: [300] },
      }),
    ).toThrow(`${path}: tensor 'b': element 0 = 300 cannot be stored as I8`);
    expect(readFileSync(path)).toEqual(before);
    expect(readdirSync(dir)).toEqual(['sae.safetensors']);
  });
});
