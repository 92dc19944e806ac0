// Typed access to a Hugging Face config.json with one-line errors naming the file and field; reads both the
// transformers-4 layout (rope_theta / rope_scaling at top level) and the transformers-5 one (rope_parameters).
import { InputError } from '../errors';
import type { RopeScaling } from './model-config';

export type RawConfig = Record<string, unknown>;

export class HfConfig {
  constructor(
    readonly raw: RawConfig,
    readonly file: string,
  ) {}

  has(field: string): boolean {
    return this.raw[field] !== undefined && this.raw[field] !== null;
  }

  private fail(field: string, expected: string): never {
    throw new InputError(`${this.file}: field '${field}' is ${describe(this.raw[field])}, expected ${expected}`);
  }

  int(field: string, fallback?: number): number {
    const v = this.raw[field];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) this.fail(field, 'a positive integer');
    return v;
  }

  number(field: string, fallback?: number): number {
    const v = this.raw[field];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, 'a number');
    return v;
  }

  /** A number > 0 (a norm's epsilon: zero or less divides by zero or takes the root of a negative). */
  positiveNumber(field: string, fallback?: number): number {
    const v = this.number(field, fallback);
    if (v <= 0) this.fail(field, 'a number greater than 0');
    return v;
  }

  optionalNumber(field: string): number | null {
    return this.has(field) ? this.number(field) : null;
  }

  bool(field: string, fallback: boolean): boolean {
    const v = this.raw[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(field, 'true or false');
    return v;
  }

  string(field: string, fallback?: string): string {
    const v = this.raw[field];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'string') this.fail(field, 'a string');
    return v;
  }

  /** A token id, or the first of a list of ids (some configs list several EOS ids). */
  tokenId(field: string): number | null {
    const v = this.raw[field];
    if (v === undefined || v === null) return null;
    const id = Array.isArray(v) ? v[0] : v;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) this.fail(field, 'a token id');
    return id;
  }

  oneOf<T extends string>(field: string, allowed: readonly T[], fallback?: T): T {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== 'string' || !allowed.includes(v as T)) this.fail(field, `one of ${allowed.join(', ')}`);
    return v as T;
  }

  /** RoPE base: transformers 5 `rope_parameters.rope_theta`, transformers 4 `rope_theta` (or GPT-NeoX `rotary_emb_base`). */
  ropeTheta(legacyField = 'rope_theta', fallback = 10000): number {
    const params = this.ropeParameters();
    if (params && params.rope_theta !== undefined)
      return numberIn(params, 'rope_theta', this.file, 'rope_parameters.rope_theta');
    return this.number(legacyField, fallback);
  }

  /** Fraction of head dimensions rotated (GPT-NeoX): `rope_parameters.partial_rotary_factor` or `rotary_pct`. */
  partialRotaryFactor(legacyField: string): number {
    const params = this.ropeParameters();
    const v =
      params?.partial_rotary_factor !== undefined
        ? numberIn(params, 'partial_rotary_factor', this.file, 'rope_parameters.partial_rotary_factor')
        : this.has('partial_rotary_factor')
          ? this.number('partial_rotary_factor')
          : this.number(legacyField, 1);
    if (!(v > 0 && v <= 1))
      throw new InputError(`${this.file}: rotary fraction ${v} is out of range, expected 0 < value <= 1`);
    return v;
  }

  ropeScaling(): RopeScaling {
    const params = this.ropeParameters();
    const legacy = this.raw.rope_scaling;
    let source: Record<string, unknown> | null = null;
    let where = 'rope_parameters';
    if (params && (params.rope_type !== undefined || params.type !== undefined)) source = params;
    else if (legacy !== undefined && legacy !== null) {
      if (typeof legacy !== 'object' || Array.isArray(legacy)) this.fail('rope_scaling', 'an object or null');
      source = legacy as Record<string, unknown>;
      where = 'rope_scaling';
    }
    if (!source) return { type: 'default' };
    const type = source.rope_type ?? source.type ?? 'default';
    const num = (key: string) => numberIn(source, key, this.file, `${where}.${key}`);
    switch (type) {
      case 'default':
        return { type: 'default' };
      case 'linear':
        return { type: 'linear', factor: num('factor') };
      case 'llama3':
        return {
          type: 'llama3',
          factor: num('factor'),
          lowFreqFactor: num('low_freq_factor'),
          highFreqFactor: num('high_freq_factor'),
          originalMaxPositionEmbeddings: num('original_max_position_embeddings'),
        };
      default:
        throw new InputError(
          `${this.file}: ${where}.rope_type '${String(type)}' is not supported, expected one of default, linear, llama3`,
        );
    }
  }

  private ropeParameters(): Record<string, unknown> | null {
    const p = this.raw.rope_parameters;
    if (p === undefined || p === null) return null;
    if (typeof p !== 'object' || Array.isArray(p)) this.fail('rope_parameters', 'an object');
    return p as Record<string, unknown>;
  }
}

function numberIn(obj: Record<string, unknown>, key: string, file: string, path: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new InputError(`${file}: field '${path}' is ${describe(v)}, expected a number`);
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
