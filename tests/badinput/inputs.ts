// Builders of the suite's bad inputs: raw safetensors bytes, copies of the small gpt2 fixture and of the bundled
// model with one file edited, and the seeded home's dictionary with its files edited.
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { archFixture, PDLM_DIR } from '../helpers/fixtures';
import type { CaseDir } from '../helpers/bad-input';

/** A safetensors file from its header (an object, or raw text or bytes) and data bytes, with an optional length prefix. */
export function rawSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0), length?: bigint): Buffer {
  const json =
    header instanceof Uint8Array
      ? Buffer.from(header)
      : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length ?? BigInt(json.length));
  return Buffer.concat([prefix, json, Buffer.from(data)]);
}

/** Little-endian bytes of typed values. */
export const i32 = (values: number[]): Uint8Array => new Uint8Array(Int32Array.from(values).buffer);
export const i64 = (values: bigint[]): Uint8Array => new Uint8Array(BigInt64Array.from(values).buffer);
export const f32 = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);

/** An ids file `[[1, 2, 3]]` as one I32 tensor named input_ids, with `edit` applied to its header entry. */
export function idsSafetensors(edit: (entry: Record<string, unknown>) => void = () => undefined): Buffer {
  const entry: Record<string, unknown> = { dtype: 'I32', shape: [1, 3], data_offsets: [0, 12] };
  edit(entry);
  return rawSafetensors({ input_ids: entry }, i32([1, 2, 3]));
}

/** Writes `content` to c.input/name and returns its path. */
export function put(c: CaseDir, name: string, content: string | Uint8Array): string {
  const path = c.at(name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

/** c.input/<name>: a copy of the gpt2 fixture (config.json, model.safetensors), config.json edited by `edit`. */
export function gpt2Copy(
  c: CaseDir,
  edit: (cfg: Record<string, unknown>) => void = () => undefined,
  name = 'gpt2',
): string {
  const dir = c.at(name);
  mkdirSync(dir, { recursive: true });
  const src = archFixture('gpt2');
  copyFileSync(join(src, 'model.safetensors'), join(dir, 'model.safetensors'));
  const cfg = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit(cfg);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

/** c.input/pdlm: a copy of the bundled model (with its tokenizer), files replaced (null: removed) through `files`. */
export function pdlmCopy(c: CaseDir, files: Record<string, string | Uint8Array | null> = {}): string {
  const dir = c.at('pdlm');
  cpSync(PDLM_DIR, dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    if (content === null) rmSync(join(dir, name));
    else writeFileSync(join(dir, name), content);
  }
  return dir;
}

/** The bundled model's tokenizer.json, parsed, for edits. */
export function pdlmTokenizer(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(PDLM_DIR, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
}

/** c.input/dict: a copy of the seeded home's dictionary 'seed' (a tiny TopK SAE on pdlm-4l-256). */
export function seedDictionaryCopy(c: CaseDir): string {
  const dir = c.at('dict');
  cpSync(join(c.home, 'dictionaries', 'seed'), dir, { recursive: true });
  return dir;
}

interface RawTensor {
  dtype: string;
  shape: number[];
  data: Buffer;
}

/** Rewrites a safetensors file after `edit` of its tensors (name → dtype, shape, bytes), in the file's order. */
export function editSafetensors(file: string, edit: (tensors: Map<string, RawTensor>) => void): void {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString()) as Record<string, unknown>;
  const tensors = new Map<string, RawTensor>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const {
      dtype,
      shape,
      data_offsets: [a, b],
    } = e as { dtype: string; shape: number[]; data_offsets: number[] };
    tensors.set(name, { dtype, shape, data: bytes.subarray(8 + n + a!, 8 + n + b!) });
  }
  edit(tensors);
  const out: Record<string, unknown> = header.__metadata__ ? { __metadata__: header.__metadata__ } : {};
  let offset = 0;
  for (const [name, t] of tensors) {
    out[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  writeFileSync(file, rawSafetensors(out, Buffer.concat([...tensors.values()].map((t) => t.data))));
}
