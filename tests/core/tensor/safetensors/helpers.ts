// Shared helpers for the safetensors suites: temp directories, hand-built (possibly broken) files, typed views.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import type { SafetensorsDtype, TensorData } from '../../../../src/core/tensor/safetensors';

/** Absolute path of a file under tests/fixtures or resources/, resolved from this file (not the cwd). */
export const fixturePath = (rel: string): string => fileURLToPath(new URL(`../../../fixtures/${rel}`, import.meta.url));
export const resourcePath = (rel: string): string =>
  fileURLToPath(new URL(`../../../../resources/${rel}`, import.meta.url));

/** Returns a function that makes a fresh temp directory; all of them are removed after each test. */
export function useTempDirs(): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), 'safetensors-test-'));
    dirs.push(d);
    return d;
  };
}

/** Little-endian u64 length prefix followed by the header text (padded with spaces to 8) and `dataBytes` bytes. */
export function buildFile(header: unknown, dataBytes: number | Uint8Array = 0): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = Buffer.from(text.padEnd(Math.ceil(Buffer.byteLength(text) / 8) * 8, ' '));
  const data = typeof dataBytes === 'number' ? new Uint8Array(dataBytes) : dataBytes;
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, data]);
}

/** The typed array a dtype's raw bytes are (F16/BF16 as Uint16Array bit patterns), for re-writing what was read. */
export function nativeArray(dtype: SafetensorsDtype, raw: Uint8Array): TensorData {
  const { buffer, byteOffset, byteLength } = raw;
  switch (dtype) {
    case 'F64':
      return new Float64Array(buffer, byteOffset, byteLength / 8);
    case 'F32':
      return new Float32Array(buffer, byteOffset, byteLength / 4);
    case 'F16':
    case 'BF16':
    case 'U16':
      return new Uint16Array(buffer, byteOffset, byteLength / 2);
    case 'I64':
      return new BigInt64Array(buffer, byteOffset, byteLength / 8);
    case 'U64':
      return new BigUint64Array(buffer, byteOffset, byteLength / 8);
    case 'I32':
      return new Int32Array(buffer, byteOffset, byteLength / 4);
    case 'U32':
      return new Uint32Array(buffer, byteOffset, byteLength / 4);
    case 'I16':
      return new Int16Array(buffer, byteOffset, byteLength / 2);
    case 'I8':
      return new Int8Array(buffer, byteOffset, byteLength);
    case 'U8':
    case 'BOOL':
      return raw;
  }
}
