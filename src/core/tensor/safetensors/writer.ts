// Writes a safetensors file atomically: everything goes to a temporary file in the target's directory,
// which is fsync'd and renamed over the target, so a crash never leaves a half-written file under the final name.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { encodeTensorData } from './encode';
import { planSafetensors, type TensorToWrite } from './layout';
import { SafetensorsError } from './safetensors-error';
import { killPoint } from '../../util/test-kill-point';

/** writeSync takes at most 2 GiB per call; stay well below. */
const WRITE_CHUNK_BYTES = 1 << 30;

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    done += fs.writeSync(fd, bytes, done, Math.min(bytes.length - done, WRITE_CHUNK_BYTES));
  }
}

/** The path's status, null where nothing is there (also where a folder on the way is a file: ENOTDIR). */
function statOrNull(filePath: string): fs.Stats | null {
  try {
    return fs.statSync(filePath, { throwIfNoEntry: false }) ?? null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return null; // the temporary file's creation then explains
    throw e;
  }
}

/**
 * Validates everything first (dtype, shape, element counts, metadata), so a bad call creates no
 * file at all; then encodes and writes one tensor at a time.
 */
export function writeSafetensors(
  filePath: string,
  tensors: Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
): void {
  const plan = planSafetensors(tensors, metadata, filePath);
  if (statOrNull(filePath)?.isDirectory()) {
    throw new SafetensorsError(filePath, 'is a folder; expected the path of a .safetensors file to write');
  }
  const tmpPath = path.join(
    path.dirname(filePath),
    `.${path.basename(filePath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  let fd: number;
  try {
    fd = fs.openSync(tmpPath, 'wx');
  } catch (e) {
    throw new SafetensorsError(filePath, `cannot create a temporary file beside it: ${(e as Error).message}`);
  }
  try {
    try {
      writeAll(fd, plan.head);
      for (const t of plan.tensors) {
        writeAll(fd, encodeTensorData(t.tensor.dtype, t.tensor.data, { file: filePath, tensor: t.name }));
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    killPoint('safetensors:before-rename');
    fs.renameSync(tmpPath, filePath);
  } catch (e) {
    fs.rmSync(tmpPath, { force: true });
    throw e;
  }
}
