// Reads safetensors files one tensor at a time with positioned reads (never the whole file), after validating the header.

import * as fs from 'node:fs';
import { assertInt32Readable, decodeFloat32, decodeInt32 } from './decode';
import { checkHeaderLength, parseHeader, type ParsedHeader, type SafetensorsTensorInfo } from './header';
import { SafetensorsError } from './safetensors-error';

export interface SafetensorsHeader extends ParsedHeader {
  readonly path: string;
  /** N, the JSON header's byte length (padding included). */
  readonly headerByteLength: number;
  /** File offset of the data buffer: 8 + N. */
  readonly dataStart: number;
  readonly dataByteLength: number;
}

export interface SafetensorsFile extends SafetensorsHeader {
  has(name: string): boolean;
  /** Tensor names in data-buffer order. */
  names(): string[];
  /** A tensor's dtype, shape and position; an unknown name is an error that lists the names there are. */
  info(name: string): SafetensorsTensorInfo;
  /** The tensor's exact little-endian bytes, in a fresh buffer of their own (byteOffset 0). */
  readRaw(name: string): Uint8Array;
  /** Any dtype upcast to f32 (F32 is returned as read, without a copy). */
  readFloat32(name: string): Float32Array;
  /** Integer and BOOL dtypes as i32; a value outside the int32 range, or a float dtype, is an error. */
  readInt32(name: string): Int32Array;
  /** Releases the file descriptor; later reads throw. Calling it twice is harmless. */
  close(): void;
}

/** readSync takes at most 2 GiB per call; stay well below. */
const READ_CHUNK_BYTES = 1 << 30;

function readExactly(fd: number, into: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < into.length) {
    const want = Math.min(into.length - done, READ_CHUNK_BYTES);
    const got = fs.readSync(fd, into, done, want, position + done);
    if (got === 0) {
      throw new SafetensorsError(
        file,
        `unexpected end of file at byte ${position + done} (${into.length - done} bytes missing); was it truncated while open?`,
      );
    }
    done += got;
  }
}

function readHeaderFromFd(fd: number, path: string): SafetensorsHeader {
  const fileByteLength = fs.fstatSync(fd).size;
  const prefix = new Uint8Array(Math.min(8, fileByteLength));
  readExactly(fd, prefix, 0, path);
  const headerByteLength = checkHeaderLength(prefix, fileByteLength, path);
  const headerBytes = new Uint8Array(headerByteLength);
  readExactly(fd, headerBytes, 8, path);
  const dataStart = 8 + headerByteLength;
  const dataByteLength = fileByteLength - dataStart;
  return { path, headerByteLength, dataStart, dataByteLength, ...parseHeader(headerBytes, dataByteLength, path) };
}

/**
 * Opens `path` for reading; an unreadable file or a folder is a one-line SafetensorsError (a missing file keeps the
 * system's ENOENT, which callers test for).
 */
function openForReading(path: string): number {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new SafetensorsError(path, 'cannot be read (permission denied)');
    if (code === 'EISDIR') throw new SafetensorsError(path, 'is a folder; expected a .safetensors file');
    throw e;
  }
  if (fs.fstatSync(fd).isDirectory()) {
    fs.closeSync(fd);
    throw new SafetensorsError(path, 'is a folder; expected a .safetensors file');
  }
  return fd;
}

/** Reads and validates only the header (opens and closes the file). */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const fd = openForReading(path);
  try {
    return readHeaderFromFd(fd, path);
  } finally {
    fs.closeSync(fd);
  }
}

/** Opens a file for tensor-by-tensor reading; call `close()` when done. */
export function openSafetensors(path: string): SafetensorsFile {
  let fd: number | undefined = openForReading(path);
  let header: SafetensorsHeader;
  try {
    header = readHeaderFromFd(fd, path);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }

  const info = (name: string): SafetensorsTensorInfo => {
    const t = header.tensors.get(name);
    if (!t) {
      const names = [...header.tensors.keys()];
      const listed = names.slice(0, 8).join(', ') + (names.length > 8 ? ', ...' : '');
      throw new SafetensorsError(path, `no tensor named '${name}' (the file has ${names.length}: ${listed})`);
    }
    return t;
  };
  const readRaw = (name: string): Uint8Array => {
    const t = info(name);
    if (fd === undefined) throw new SafetensorsError(path, `cannot read tensor '${name}': the file was closed`);
    const bytes = new Uint8Array(t.byteLength);
    readExactly(fd, bytes, header.dataStart + t.byteOffset, path);
    return bytes;
  };

  return {
    ...header,
    has: (name) => header.tensors.has(name),
    names: () => [...header.tensors.keys()],
    info,
    readRaw,
    readFloat32: (name) => decodeFloat32(readRaw(name), info(name).dtype),
    readInt32: (name) => {
      const { dtype } = info(name);
      const source = { file: path, tensor: name };
      assertInt32Readable(dtype, source);
      return decodeInt32(readRaw(name), dtype, source);
    },
    close: () => {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
  };
}
