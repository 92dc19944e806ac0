// Arrays too large for a row (over 1 MiB by default) live in one safetensors file per analysis beside studio.db,
// `arrays/<analysis uid>.safetensors`, written atomically before the transaction that inserts the rows referring
// to it. A row refers to a tensor as `arrays/<uid>.safetensors#<tensor name>` (relative to the store's folder).
// A save killed mid-way leaves an unreferenced file, never a referenced half-written one: removeOrphanArrayFiles
// deletes those.
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors, writeSafetensors, type SafetensorsFile, type TensorToWrite } from '../tensor/safetensors';
import { ARRAYS_DIR, assertWriter, type Store } from './database';

export const DEFAULT_LARGE_ARRAY_BYTES = 1 << 20;

export interface ArraySpill {
  /** Whether `array` is too large for a row. */
  isLarge(array: Int32Array | Float32Array): boolean;
  /** Queues `array` under `tensor` and returns the reference to store in its row. */
  add(tensor: string, array: Int32Array | Float32Array): string;
  /** The file's path relative to the store folder, or null when nothing was large. */
  readonly file: string | null;
  /** Writes the queued arrays (atomically); nothing when none were queued. */
  write(): void;
}

export function arraySpill(storeDir: string, uid: string, limitBytes = DEFAULT_LARGE_ARRAY_BYTES): ArraySpill {
  const relPath = `${ARRAYS_DIR}/${uid}.safetensors`;
  const tensors: Record<string, TensorToWrite> = {};
  let count = 0;
  return {
    isLarge: (array) => array.byteLength > limitBytes,
    add(tensor, array) {
      tensors[tensor] = { dtype: array instanceof Int32Array ? 'I32' : 'F32', shape: [array.length], data: array };
      count++;
      return `${relPath}#${tensor}`;
    },
    get file() {
      return count > 0 ? relPath : null;
    },
    write() {
      if (count === 0) return;
      mkdirSync(join(storeDir, ARRAYS_DIR), { recursive: true });
      writeSafetensors(join(storeDir, relPath), tensors, { format: 'sae-studio-arrays' });
    },
  };
}

/** Reads referenced arrays, keeping each file open until close(). */
export interface ArrayReader {
  readInt32(ref: string): Int32Array;
  readFloat32(ref: string): Float32Array;
  close(): void;
}

export function arrayReader(storeDir: string): ArrayReader {
  const open = new Map<string, SafetensorsFile>();
  const locate = (ref: string): { file: SafetensorsFile; tensor: string } => {
    const hash = ref.indexOf('#');
    if (hash < 0) throw new Error(`${join(storeDir, ref)}: array reference without '#<tensor>'`);
    const rel = ref.slice(0, hash);
    let file = open.get(rel);
    if (!file) {
      file = openSafetensors(join(storeDir, rel));
      open.set(rel, file);
    }
    return { file, tensor: ref.slice(hash + 1) };
  };
  return {
    readInt32(ref) {
      const { file, tensor } = locate(ref);
      return file.readInt32(tensor);
    },
    readFloat32(ref) {
      const { file, tensor } = locate(ref);
      return file.readFloat32(tensor);
    },
    close() {
      for (const f of open.values()) f.close();
      open.clear();
    },
  };
}

/** Deletes a store-relative arrays file (after the rows referring to it are gone); missing files are fine. */
export function removeArrayFile(storeDir: string, relPath: string): void {
  rmSync(join(storeDir, relPath), { force: true });
}

/**
 * Deletes files in arrays/ that no analysis refers to (left by saves that were killed) and that are older than
 * `olderThanMs`, so a save still in progress in another process keeps its file. Returns the names removed.
 */
export function removeOrphanArrayFiles(store: Store, options: { olderThanMs?: number } = {}): string[] {
  assertWriter(store, 'removing orphan array files');
  const dir = join(store.dir, ARRAYS_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const referenced = new Set(
    store.db.prepare('SELECT arrays_file FROM analyses WHERE arrays_file IS NOT NULL').pluck().all() as string[],
  );
  const cutoff = Date.now() - (options.olderThanMs ?? 3_600_000);
  const removed: string[] = [];
  for (const name of names) {
    if (referenced.has(`${ARRAYS_DIR}/${name}`)) continue;
    const path = join(dir, name);
    const stat = statSync(path);
    if (!stat.isFile() || stat.mtimeMs > cutoff) continue;
    rmSync(path, { force: true });
    removed.push(name);
  }
  return removed;
}
