import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DTYPE_BYTES,
  SAFETENSORS_DTYPES,
  SafetensorsError,
  openSafetensors,
  serializeSafetensors,
  writeSafetensors,
  type SafetensorsDtype,
  type TensorData,
} from '../../../../src/core/tensor/safetensors';
import { useTempDirs } from './helpers';

interface Case {
  dtype: SafetensorsDtype;
  data: TensorData;
  /** The raw bytes, read back as this typed array. */
  raw: ArrayLike<number | bigint>;
  float32: number[];
  /** Expected readInt32 result, or a fragment of its error. */
  int32: number[] | string;
}

const u16 = (b: Uint8Array): number[] => Array.from(new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2));

// One tensor per dtype, with each dtype's extremes; shape [2, 3] throughout.
const CASES: Case[] = [
  {
    dtype: 'F64',
    data: new Float64Array([0, -1.5, Math.PI, 1e300, -Infinity, 2 ** -30]),
    raw: [0, -1.5, Math.PI, 1e300, -Infinity, 2 ** -30],
    float32: [0, -1.5, Math.fround(Math.PI), Infinity, -Infinity, 2 ** -30],
    int32: 'has dtype F64; readInt32 expects an integer or BOOL dtype',
  },
  {
    dtype: 'F32',
    data: new Float32Array([0, -1.5, 3.25, 1e30, Infinity, -0]),
    raw: new Float32Array([0, -1.5, 3.25, 1e30, Infinity, -0]),
    float32: [0, -1.5, 3.25, Math.fround(1e30), Infinity, -0],
    int32: 'has dtype F32',
  },
  {
    dtype: 'F16',
    data: new Float32Array([1, -2, 65504, 2 ** -24, 0.1, -Infinity]),
    raw: [0x3c00, 0xc000, 0x7bff, 0x0001, 0x2e66, 0xfc00],
    float32: [1, -2, 65504, 2 ** -24, 0.0999755859375, -Infinity],
    int32: 'has dtype F16',
  },
  {
    dtype: 'BF16',
    data: [1, -2, 0.1, 2 ** -133, 3e38, Infinity],
    raw: [0x3f80, 0xc000, 0x3dcd, 0x0001, 0x7f62, 0x7f80],
    float32: [1, -2, 0.10009765625, 2 ** -133, 226 * 2 ** 120, Infinity],
    int32: 'has dtype BF16',
  },
  {
    dtype: 'I64',
    data: new BigInt64Array([-(2n ** 63n), -1n, 0n, 1n, 2n ** 31n - 1n, 2n ** 63n - 1n]),
    raw: [-(2n ** 63n), -1n, 0n, 1n, 2n ** 31n - 1n, 2n ** 63n - 1n],
    float32: [-(2 ** 63), -1, 0, 1, 2 ** 31, 2 ** 63],
    int32: "tensor 't' (I64): element 0 = -9223372036854775808 is outside the int32 range",
  },
  {
    dtype: 'I32',
    data: new Int32Array([-(2 ** 31), -1, 0, 1, 7, 2 ** 31 - 1]),
    raw: [-(2 ** 31), -1, 0, 1, 7, 2 ** 31 - 1],
    float32: [-(2 ** 31), -1, 0, 1, 7, 2 ** 31],
    int32: [-(2 ** 31), -1, 0, 1, 7, 2 ** 31 - 1],
  },
  {
    dtype: 'I16',
    data: new Int16Array([-32768, -1, 0, 1, 7, 32767]),
    raw: [-32768, -1, 0, 1, 7, 32767],
    float32: [-32768, -1, 0, 1, 7, 32767],
    int32: [-32768, -1, 0, 1, 7, 32767],
  },
  {
    dtype: 'I8',
    data: new Int8Array([-128, -1, 0, 1, 7, 127]),
    raw: [-128, -1, 0, 1, 7, 127],
    float32: [-128, -1, 0, 1, 7, 127],
    int32: [-128, -1, 0, 1, 7, 127],
  },
  {
    dtype: 'U64',
    data: new BigUint64Array([0n, 1n, 7n, 2n ** 31n - 1n, 2n ** 32n, 2n ** 64n - 1n]),
    raw: [0n, 1n, 7n, 2n ** 31n - 1n, 2n ** 32n, 2n ** 64n - 1n],
    float32: [0, 1, 7, 2 ** 31, 2 ** 32, 2 ** 64],
    int32: '(U64): element 4 = 4294967296 is outside the int32 range',
  },
  {
    dtype: 'U32',
    data: new Uint32Array([0, 1, 7, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1]),
    raw: [0, 1, 7, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1],
    float32: [0, 1, 7, 2 ** 31, 2 ** 31, 2 ** 32],
    int32: '(U32): element 4 = 2147483648 is outside the int32 range',
  },
  {
    dtype: 'U16',
    data: new Uint16Array([0, 1, 7, 255, 32768, 65535]),
    raw: [0, 1, 7, 255, 32768, 65535],
    float32: [0, 1, 7, 255, 32768, 65535],
    int32: [0, 1, 7, 255, 32768, 65535],
  },
  {
    dtype: 'U8',
    data: new Uint8Array([0, 1, 7, 128, 254, 255]),
    raw: [0, 1, 7, 128, 254, 255],
    float32: [0, 1, 7, 128, 254, 255],
    int32: [0, 1, 7, 128, 254, 255],
  },
  {
    dtype: 'BOOL',
    data: [true, false, true, true, false, false],
    raw: [1, 0, 1, 1, 0, 0],
    float32: [1, 0, 1, 1, 0, 0],
    int32: [1, 0, 1, 1, 0, 0],
  },
];

function rawAs(dtype: SafetensorsDtype, raw: Uint8Array): ArrayLike<number | bigint> {
  const { buffer } = raw;
  switch (dtype) {
    case 'F64':
      return new Float64Array(buffer);
    case 'F32':
      return new Float32Array(buffer);
    case 'F16':
    case 'BF16':
    case 'U16':
      return u16(raw);
    case 'I64':
      return new BigInt64Array(buffer);
    case 'U64':
      return new BigUint64Array(buffer);
    case 'I32':
      return new Int32Array(buffer);
    case 'U32':
      return new Uint32Array(buffer);
    case 'I16':
      return new Int16Array(buffer);
    case 'I8':
      return new Int8Array(buffer);
    case 'U8':
    case 'BOOL':
      return raw;
  }
}

describe('safetensors round trip', () => {
  const tempDir = useTempDirs();

  it('covers every supported dtype', () => {
    expect(CASES.map((c) => c.dtype).sort()).toEqual([...SAFETENSORS_DTYPES].sort());
  });

  it.each(CASES)('$dtype: write, then read raw / float32 / int32', ({ dtype, data, raw, float32, int32 }) => {
    const path = join(tempDir(), 'one.safetensors');
    writeSafetensors(path, { t: { dtype, shape: [2, 3], data } });
    const file = openSafetensors(path);
    try {
      expect(file.info('t')).toEqual({
        name: 't',
        dtype,
        shape: [2, 3],
        byteOffset: 0,
        byteLength: 6 * DTYPE_BYTES[dtype],
      });
      const bytes = file.readRaw('t');
      expect(bytes.byteOffset).toBe(0);
      expect(Array.from(rawAs(dtype, bytes))).toEqual(Array.from(raw));
      expect(Array.from(file.readFloat32('t'))).toEqual(float32);
      if (typeof int32 === 'string') {
        expect(() => file.readInt32('t')).toThrow(SafetensorsError);
        expect(() => file.readInt32('t')).toThrow(`${path}: `);
        expect(() => file.readInt32('t')).toThrow(int32);
      } else {
        expect(Array.from(file.readInt32('t'))).toEqual(int32);
      }
    } finally {
      file.close();
    }
    expect(serializeSafetensors({ t: { dtype, shape: [2, 3], data } })).toEqual(new Uint8Array(readFileSync(path)));
  });

  it('writes all dtypes into one file and reads each back', () => {
    const path = join(tempDir(), 'all.safetensors');
    const tensors = Object.fromEntries(
      CASES.map((c) => [`t_${c.dtype}`, { dtype: c.dtype, shape: [2, 3], data: c.data }]),
    );
    writeSafetensors(path, tensors, { format: 'pt', note: 'every dtype' });
    const file = openSafetensors(path);
    expect(file.metadata).toEqual({ format: 'pt', note: 'every dtype' });
    expect(file.names()).toHaveLength(CASES.length);
    for (const c of CASES) {
      expect(file.has(`t_${c.dtype}`)).toBe(true);
      expect(Array.from(rawAs(c.dtype, file.readRaw(`t_${c.dtype}`)))).toEqual(Array.from(c.raw));
    }
    file.close();
  });

  it('converts plain arrays and other typed arrays into the requested dtype', () => {
    const path = join(tempDir(), 'conv.safetensors');
    writeSafetensors(path, {
      ids_from_i32: { dtype: 'I64', shape: [3], data: new Int32Array([5, -6, 7]) },
      ids_from_numbers: { dtype: 'I64', shape: [3], data: [2 ** 40, 0, -3] },
      u64_from_bigints: { dtype: 'U64', shape: [1], data: [2n ** 64n - 1n] },
      f32_from_f64: { dtype: 'F32', shape: [2], data: new Float64Array([0.1, 1e-50]) },
      f16_from_f64: { dtype: 'F16', shape: [1], data: new Float64Array([1 + 2 ** -11 + 2 ** -40]) },
      bool_from_u8: { dtype: 'BOOL', shape: [2], data: new Uint8Array([0, 1]) },
      scalar: { dtype: 'I32', shape: [], data: [42] },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    });
    const file = openSafetensors(path);
    expect(Array.from(new BigInt64Array(file.readRaw('ids_from_i32').buffer))).toEqual([5n, -6n, 7n]);
    expect(Array.from(new BigInt64Array(file.readRaw('ids_from_numbers').buffer))).toEqual([2n ** 40n, 0n, -3n]);
    expect(Array.from(new BigUint64Array(file.readRaw('u64_from_bigints').buffer))).toEqual([2n ** 64n - 1n]);
    expect(Array.from(file.readFloat32('f32_from_f64'))).toEqual([Math.fround(0.1), 0]);
    expect(u16(file.readRaw('f16_from_f64'))).toEqual([0x3c01]);
    expect(Array.from(file.readInt32('bool_from_u8'))).toEqual([0, 1]);
    expect(Array.from(file.readInt32('scalar'))).toEqual([42]);
    expect(file.info('scalar').shape).toEqual([]);
    expect(file.readFloat32('empty')).toHaveLength(0);
    expect(file.info('empty')).toMatchObject({ shape: [0, 4], byteLength: 0 });
    file.close();
  });

  it.each([
    [
      'I32',
      [1.5],
      "tensor 't': element 0 = 1.5 cannot be stored as I32 (expected an integer in [-2147483648, 2147483647])",
    ],
    ['U8', [256], 'element 0 = 256 cannot be stored as U8'],
    ['I8', new Int16Array([-129]), 'element 0 = -129 cannot be stored as I8'],
    ['BOOL', new Uint8Array([2]), 'element 0 = 2 cannot be stored as BOOL (expected an integer in [0, 1])'],
    ['I64', [2 ** 63], 'element 0 = 9223372036854776000 cannot be stored as I64'],
    ['U64', [-1n], 'element 0 = -1 cannot be stored as U64'],
  ] as const)('refuses a value that does not fit %s', (dtype, data, message) => {
    expect(() => serializeSafetensors({ t: { dtype, shape: [1], data } })).toThrow(message);
  });

  it('reads lazily, one tensor at a time, at the offsets in the header', () => {
    const path = join(tempDir(), 'big.safetensors');
    const big = new Float32Array(1 << 20).map((_, i) => i);
    writeSafetensors(path, {
      big: { dtype: 'F32', shape: [1 << 20], data: big },
      small: { dtype: 'F32', shape: [2], data: [7, 8] },
    });
    const file = openSafetensors(path);
    // Change the big tensor's bytes on disk after opening: reads see the file as it is now.
    const start = file.dataStart + file.info('big').byteOffset;
    const onDisk = readFileSync(path);
    onDisk.fill(0xff, start, start + file.info('big').byteLength);
    writeFileSync(path, onDisk);
    expect(Array.from(file.readFloat32('small'))).toEqual([7, 8]);
    expect(new Uint32Array(file.readRaw('big').buffer).every((w) => w === 0xffffffff)).toBe(true);
    file.close();
  });
});
