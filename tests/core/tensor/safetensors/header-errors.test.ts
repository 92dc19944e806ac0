import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  SafetensorsError,
  openSafetensors,
  readSafetensorsHeader,
  serializeSafetensors,
  writeSafetensors,
} from '../../../../src/core/tensor/safetensors';
import { buildFile, useTempDirs } from './helpers';

const f32 = (begin: number, end: number, shape: number[] = [(end - begin) / 4]) => ({
  dtype: 'F32',
  shape,
  data_offsets: [begin, end],
});

const tempDir = useTempDirs();

/** Writes `bytes`, opens them, and checks a one-line SafetensorsError naming the file and every fragment. */
function expectRejected(bytes: Uint8Array, ...fragments: string[]): string {
  const path = join(tempDir(), 'bad.safetensors');
  writeFileSync(path, bytes);
  let error: unknown;
  try {
    openSafetensors(path).close();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(SafetensorsError);
  const e = error as SafetensorsError;
  expect(e.file).toBe(path);
  expect(e.message.startsWith(`${path}: `)).toBe(true);
  expect(e.message).not.toContain('\n');
  for (const f of fragments) expect(e.message).toContain(f);
  // The header-only reader applies the same checks.
  expect(() => readSafetensorsHeader(path)).toThrow(e.message);
  return e.message;
}

describe('safetensors header framing: length prefix and JSON', () => {
  it('rejects a file shorter than the 8-byte length prefix', () => {
    expectRejected(new Uint8Array(5), 'file is 5 bytes', '8-byte header length');
    expectRejected(new Uint8Array(0), 'file is 0 bytes');
  });

  it('rejects an absurd header length', () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 40n, true);
    expectRejected(bytes, 'header length 1099511627776', '100000000-byte limit');
  });

  it('rejects a header length larger than the file', () => {
    const bytes = new Uint8Array(20);
    new DataView(bytes.buffer).setBigUint64(0, 1000n, true);
    expectRejected(bytes, 'header length 1000 is larger than the file (20 bytes');
  });

  it('rejects a header that is not JSON, not UTF-8, or not an object', () => {
    expectRejected(buildFile('{"w": {"dtype": "F32",'), 'header is not valid JSON');
    expectRejected(buildFile('[1, 2]'), 'header must be a JSON object, got an array');
    expectRejected(buildFile('"text"'), 'header must be a JSON object, got "text"');
    const bytes = buildFile('{"a":1}   ');
    bytes[9] = 0xff;
    expectRejected(bytes, 'header is not valid UTF-8');
  });
});

describe('safetensors header tensor entries: dtype, shape and data_offsets', () => {
  it('rejects an unknown dtype, naming the tensor and the dtypes it accepts', () => {
    expectRejected(
      buildFile({ w: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, 4),
      "tensor 'w'",
      'unknown dtype "F8_E4M3"',
      'expected one of F64, F32, F16, BF16',
    );
    expectRejected(buildFile({ w: { shape: [4], data_offsets: [0, 4] } }, 4), "tensor 'w'", 'unknown dtype undefined');
  });

  it.each([[[2, -1]], ['4'], [[1.5]], [null]])('rejects shape %j', (shape) => {
    expectRejected(
      buildFile({ w: { dtype: 'U8', shape, data_offsets: [0, 2] } }, 2),
      "tensor 'w'",
      'shape must be an array of non-negative integers',
    );
  });

  it.each([[[0]], [[4, 0]], [['0', 4]], [[0, 4.5]], [undefined]])('rejects data_offsets %j', (offsets) => {
    expectRejected(
      buildFile({ w: { dtype: 'U8', shape: [4], data_offsets: offsets } }, 4),
      "tensor 'w'",
      'data_offsets must be [begin, end] integers',
    );
  });

  it('rejects offsets that disagree with shape × dtype size', () => {
    expectRejected(
      buildFile({ w: f32(0, 20, [2, 3]) }, 20),
      "tensor 'w'",
      'data_offsets [0, 20] hold 20 bytes but shape [2, 3] of F32 (4 bytes each) needs 24',
    );
  });
});

describe('safetensors data buffer layout: truncation, overlaps and holes', () => {
  it('rejects a truncated file and says how many bytes are missing', () => {
    const path = join(tempDir(), 'ok.safetensors');
    writeSafetensors(path, {
      a: { dtype: 'F32', shape: [4], data: [1, 2, 3, 4] },
      b: { dtype: 'F32', shape: [4], data: [5, 6, 7, 8] },
    });
    const bytes = new Uint8Array(
      serializeSafetensors({
        a: { dtype: 'F32', shape: [4], data: [1, 2, 3, 4] },
        b: { dtype: 'F32', shape: [4], data: [5, 6, 7, 8] },
      }),
    );
    expectRejected(bytes.subarray(0, bytes.length - 10), 'file is truncated', "tensor 'b'", '10 bytes missing');
    // The same through a real truncation of a file written by the writer.
    truncateSync(path, bytes.length - 3);
    expect(() => openSafetensors(path)).toThrow(
      `${path}: file is truncated: tensor 'b' data_offsets [16, 32] end past the 29-byte data buffer (3 bytes missing)`,
    );
  });

  it('rejects overlapping tensors, naming both', () => {
    expectRejected(buildFile({ a: f32(0, 8), b: f32(4, 12) }, 12), "tensor 'b'", "overlap tensor 'a' [0, 8]");
  });

  it('rejects holes in the data buffer and trailing bytes', () => {
    expectRejected(
      buildFile({ a: f32(0, 4), b: f32(8, 12) }, 12),
      'hole',
      "bytes [4, 8) before tensor 'b' after tensor 'a'",
    );
    expectRejected(buildFile({ a: f32(4, 8) }, 8), 'hole', 'bytes [0, 4)', 'at the start of the data buffer');
    expectRejected(buildFile({ a: f32(0, 4) }, 8), '4 bytes after the last tensor');
  });
});

describe('safetensors header entries and __metadata__ of the wrong type', () => {
  it('rejects malformed entries and metadata', () => {
    expectRejected(buildFile({ w: [1, 2] }), "tensor 'w'", 'entry must be an object');
    expectRejected(buildFile({ __metadata__: { format: 1 } }), '__metadata__.format must be a string, got 1');
    expectRejected(buildFile({ __metadata__: 'pt' }), '__metadata__ must be an object of strings');
  });
});

describe('safetensors header validation accepting valid files', () => {
  it('accepts tensors listed in any order, and an empty file', () => {
    const path = join(tempDir(), 'ok.safetensors');
    writeFileSync(
      path,
      buildFile({ b: f32(4, 8), z: f32(8, 8, [0]), a: f32(0, 4) }, new Uint8Array(new Float32Array([1, 2]).buffer)),
    );
    const file = openSafetensors(path);
    expect(file.names()).toEqual(['a', 'b', 'z']);
    expect(Array.from(file.readFloat32('b'))).toEqual([2]);
    file.close();
    writeFileSync(path, buildFile({}));
    expect(readSafetensorsHeader(path).tensors.size).toBe(0);
  });
});

describe('safetensors reader API errors', () => {
  it('names the missing tensor and lists the ones there are', () => {
    const path = join(tempDir(), 'x.safetensors');
    writeSafetensors(path, { a: { dtype: 'U8', shape: [1], data: [1] }, b: { dtype: 'U8', shape: [1], data: [2] } });
    const file = openSafetensors(path);
    expect(file.has('c')).toBe(false);
    expect(() => file.readRaw('c')).toThrow(`${path}: no tensor named 'c' (the file has 2: a, b)`);
    expect(() => file.info('c')).toThrow(SafetensorsError);
    file.close();
    file.close();
    expect(() => file.readRaw('a')).toThrow(`${path}: cannot read tensor 'a': the file was closed`);
  });

  it('lets a missing file fail with the operating system error', () => {
    expect(() => openSafetensors(join(tempDir(), 'nope.safetensors'))).toThrow(/ENOENT/);
  });
});
