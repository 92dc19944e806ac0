// Reads a model's weights by Hugging Face name from model.safetensors or a sharded checkpoint
// (model.safetensors.index.json), checking every shape against what the config implies.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors';
import { openSafetensors, readWeight, type SafetensorsFile } from '../tensor/safetensors';
import type { HostTensor } from './params';

export class WeightSource {
  private readonly files = new Map<string, SafetensorsFile>();
  private readonly where = new Map<string, SafetensorsFile>();

  private constructor(readonly dir: string) {}

  static open(dir: string): WeightSource {
    const src = new WeightSource(dir);
    const single = join(dir, 'model.safetensors');
    const index = join(dir, 'model.safetensors.index.json');
    if (existsSync(single)) src.add(single);
    else if (existsSync(index)) src.addIndex(index);
    else
      throw new InputError(
        `${dir}: no model.safetensors or model.safetensors.index.json (only safetensors weights are supported)`,
      );
    return src;
  }

  private add(path: string): SafetensorsFile {
    let file = this.files.get(path);
    if (!file) {
      file = openSafetensors(path);
      this.files.set(path, file);
      for (const name of file.names()) this.where.set(name, file);
    }
    return file;
  }

  private addIndex(indexPath: string): void {
    let map: unknown;
    try {
      map = (JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map?: unknown }).weight_map;
    } catch (err) {
      throw new InputError(`${indexPath}: not valid JSON (${(err as Error).message})`);
    }
    if (!map || typeof map !== 'object')
      throw new InputError(`${indexPath}: field 'weight_map' is missing, expected {tensor: file}`);
    for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== 'string') throw new InputError(`${indexPath}: weight_map['${name}'] is not a file name`);
      const path = join(this.dir, shard);
      if (!existsSync(path)) throw new InputError(`${indexPath}: shard '${shard}' (for '${name}') does not exist`);
      this.add(path);
    }
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  /** Loads a tensor upcast to float32, checking its shape. */
  get(name: string, shape: number[]): HostTensor {
    const file = this.where.get(name);
    if (!file) throw new InputError(`${this.dir}: weight '${name}' is missing from the checkpoint`);
    const actual = file.info(name).shape;
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      throw new InputError(
        `${file.path}: weight '${name}' has shape [${actual.join(', ')}], expected [${shape.join(', ')}] from config.json`,
      );
    }
    return { data: readWeight(file, name), shape: [...shape] };
  }

  close(): void {
    for (const f of this.files.values()) f.close();
    this.files.clear();
    this.where.clear();
  }
}

/** Hugging Face nn.Linear weight [out, in] → our [in, out] layout. */
export function linearWeight(src: WeightSource, name: string, dIn: number, dOut: number): HostTensor {
  return transpose2d(src.get(name, [dOut, dIn]));
}

export function transpose2d(t: HostTensor): HostTensor {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[base + c]!;
  }
  return { data: out, shape: [cols, rows] };
}

/** Columns [start, start + width) of a [rows, cols] matrix. */
export function sliceColumns(t: HostTensor, start: number, width: number): HostTensor {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(t.data.subarray(r * cols + start, r * cols + start + width), r * width);
  return { data: out, shape: [rows, width] };
}

export function sliceVector(t: HostTensor, start: number, width: number): HostTensor {
  return { data: t.data.slice(start, start + width), shape: [width] };
}

/** Gemma-style norm weights are stored as w - 1; the forward multiplies by (1 + w). */
export function addScalar(t: HostTensor, s: number): HostTensor {
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = t.data[i]! + s;
  return { data: out, shape: t.shape };
}
