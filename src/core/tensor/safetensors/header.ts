// Parses and validates a safetensors header (length prefix + JSON) against the data buffer that follows it.
// Every rule of the reference reader (huggingface/safetensors `read_metadata` / `validate`) becomes a one-line error.

import { DTYPE_BYTES, SAFETENSORS_DTYPES, elementCount, isSafetensorsDtype, type SafetensorsDtype } from './dtypes';
import { SafetensorsError } from './safetensors-error';

/** Same limit as the reference reader: a longer header means a corrupt or foreign file. */
export const MAX_HEADER_BYTES = 100_000_000;

export const METADATA_KEY = '__metadata__';

export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Offset from the start of the data buffer (= data_offsets[0]); the file offset is `dataStart + byteOffset`. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface ParsedHeader {
  readonly metadata: Readonly<Record<string, string>>;
  /** Ordered by position in the data buffer. */
  readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates the file's first bytes (at most 8: the little-endian u64 header length N) against the
 * file size and returns N.
 */
export function checkHeaderLength(prefix: Uint8Array, fileByteLength: number, file: string): number {
  if (prefix.length < 8 || fileByteLength < 8) {
    throw new SafetensorsError(
      file,
      `file is ${fileByteLength} bytes; a safetensors file starts with an 8-byte header length`,
    );
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      file,
      `header length ${n} is larger than the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`,
    );
  }
  const headerByteLength = Number(n);
  if (8 + headerByteLength > fileByteLength) {
    throw new SafetensorsError(
      file,
      `header length ${headerByteLength} is larger than the file (${fileByteLength} bytes, ${fileByteLength - 8} after the length prefix)`,
    );
  }
  return headerByteLength;
}

function parseJson(headerBytes: Uint8Array, file: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError(file, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(file, `header is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (!isPlainObject(json)) {
    throw new SafetensorsError(
      file,
      `header must be a JSON object, got ${Array.isArray(json) ? 'an array' : show(json)}`,
    );
  }
  return json;
}

function parseMetadata(value: unknown, file: string): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new SafetensorsError(file, `${METADATA_KEY} must be an object of strings, got ${show(value)}`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new SafetensorsError(file, `${METADATA_KEY}.${key} must be a string, got ${show(v)}`);
    }
  }
  return value as Record<string, string>;
}

function parseTensor(name: string, entry: unknown, file: string): SafetensorsTensorInfo {
  const fail = (detail: string): never => {
    throw new SafetensorsError(file, `tensor '${name}': ${detail}`);
  };
  if (!isPlainObject(entry)) return fail(`entry must be an object {dtype, shape, data_offsets}, got ${show(entry)}`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (!isSafetensorsDtype(dtype)) {
    return fail(`unknown dtype ${show(dtype)}; expected one of ${SAFETENSORS_DTYPES.join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return fail(`shape must be an array of non-negative integers, got ${show(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    return fail(`data_offsets must be [begin, end] integers with 0 <= begin <= end, got ${show(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = elementCount(shape) * DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(expected)) return fail(`shape [${shape.join(', ')}] is too large`);
  if (end - begin !== expected) {
    return fail(
      `data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} ` +
        `(${DTYPE_BYTES[dtype]} bytes each) needs ${expected}`,
    );
  }
  return { name, dtype, shape: shape as number[], byteOffset: begin, byteLength: expected };
}

/** The tensors must tile the data buffer exactly: no overlap, no hole, nothing past its end. */
function checkLayout(sorted: readonly SafetensorsTensorInfo[], dataByteLength: number, file: string): void {
  const range = (t: SafetensorsTensorInfo): string => `[${t.byteOffset}, ${t.byteOffset + t.byteLength}]`;
  let last: SafetensorsTensorInfo | undefined;
  for (const t of sorted) {
    if (!last || t.byteOffset + t.byteLength > last.byteOffset + last.byteLength) last = t;
  }
  const end = last ? last.byteOffset + last.byteLength : 0;
  if (last && end > dataByteLength) {
    throw new SafetensorsError(
      file,
      `file is truncated: tensor '${last.name}' data_offsets ${range(last)} end past the ${dataByteLength}-byte ` +
        `data buffer (${end - dataByteLength} bytes missing)`,
    );
  }
  let cursor = 0;
  let previous: SafetensorsTensorInfo | undefined;
  for (const t of sorted) {
    if (t.byteOffset < cursor && previous) {
      throw new SafetensorsError(
        file,
        `tensor '${t.name}': data_offsets ${range(t)} overlap tensor '${previous.name}' ${range(previous)}`,
      );
    }
    if (t.byteOffset > cursor) {
      const after = previous ? ` after tensor '${previous.name}'` : ' at the start of the data buffer';
      throw new SafetensorsError(
        file,
        `data buffer has a hole: bytes [${cursor}, ${t.byteOffset}) before tensor '${t.name}'${after} belong to no tensor ` +
          '(the format requires every byte to be indexed)',
      );
    }
    cursor = t.byteOffset + t.byteLength;
    previous = t;
  }
  if (cursor < dataByteLength) {
    throw new SafetensorsError(
      file,
      `data buffer has ${dataByteLength - cursor} bytes after the last tensor (tensors end at ${cursor}, ` +
        `buffer holds ${dataByteLength}; the format requires every byte to be indexed)`,
    );
  }
}

/** Parses the N header bytes and checks them against the `dataByteLength` bytes that follow. */
export function parseHeader(headerBytes: Uint8Array, dataByteLength: number, file: string): ParsedHeader {
  const json = parseJson(headerBytes, file);
  let metadata: Record<string, string> = {};
  const infos: SafetensorsTensorInfo[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === METADATA_KEY) metadata = parseMetadata(entry, file);
    else infos.push(parseTensor(name, entry, file));
  }
  infos.sort((a, b) => a.byteOffset - b.byteOffset || a.byteLength - b.byteLength);
  checkLayout(infos, dataByteLength, file);
  return { metadata, tensors: new Map(infos.map((t) => [t.name, t])) };
}
