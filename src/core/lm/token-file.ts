// Reads token windows from a file: a safetensors file holding a 2-D integer tensor (any integer dtype), or a
// JSON array of arrays of ids.
import { existsSync, readFileSync } from 'node:fs';
import { InputError } from '../errors';
import { isSafetensorsDtype, openSafetensors } from '../tensor/safetensors';
import { tokenBatch, type TokenBatch } from './token-batch';

const PREFERRED_NAMES = ['input_ids', 'windows', 'val_windows', 'tokens'];

export function readTokenFile(path: string, tensorName?: string): TokenBatch {
  if (!existsSync(path)) throw new InputError(`${path}: file not found`);
  if (path.endsWith('.json')) return readJsonTokens(path);
  const file = openSafetensors(path);
  try {
    const name = tensorName ?? pickTensor(path, file.names(), (n) => file.info(n).dtype);
    if (!file.has(name)) throw new InputError(`${path}: no tensor '${name}' (has ${file.names().join(', ')})`);
    const info = file.info(name);
    const [batch, seq] = info.shape;
    if (info.shape.length !== 2 || batch === undefined || seq === undefined)
      throw new InputError(`${path}: tensor '${name}' has shape [${info.shape.join(', ')}], expected [n, seq]`);
    const ids = file.readInt32(name);
    return { ids, batch, seq };
  } finally {
    file.close();
  }
}

function pickTensor(path: string, names: string[], dtype: (n: string) => string): string {
  const integer = names.filter((n) => {
    const d = dtype(n);
    return isSafetensorsDtype(d) && !d.startsWith('F') && d !== 'BF16';
  });
  const [only] = integer;
  if (only !== undefined && integer.length === 1) return only;
  const preferred = PREFERRED_NAMES.find((n) => integer.includes(n));
  if (preferred) return preferred;
  throw new InputError(
    integer.length === 0
      ? `${path}: no integer tensor, expected token ids [n, seq] (e.g. 'input_ids')`
      : `${path}: several integer tensors (${integer.join(', ')}); name one of ${PREFERRED_NAMES.join(', ')} or pass the tensor name`,
  );
}

function readJsonTokens(path: string): TokenBatch {
  let rows: unknown;
  try {
    rows = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(rows) || !rows.every(Array.isArray))
    throw new InputError(`${path}: expected a JSON array of arrays of token ids`);
  return tokenBatch(rows as number[][], path);
}
