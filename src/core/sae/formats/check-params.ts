// Checks a dictionary's host tensors against the shapes its config implies, before a format writes anything,
// and formats shapes for the one-line errors of the format readers.
import { readFileSync } from 'node:fs';
import type { SaeConfig } from '../../../protocol/dictionary-config';
import { InputError } from '../../errors';
import type { HostParams } from '../host-tensor';
import { saeBufferShapes, saeParamShapes } from '../variants/sae';

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Every tensor an `sae` dictionary holds: its parameters and its buffers (BatchTopK threshold). */
export function saeTensorShapes(cfg: SaeConfig): Record<string, number[]> {
  return { ...saeParamShapes(cfg), ...saeBufferShapes(cfg) };
}

/** Throws an InputError "<label>: …" naming the first missing, extra or mis-shaped tensor. */
export function checkHostParams(cfg: SaeConfig, params: HostParams, label: string): void {
  const expected = saeTensorShapes(cfg);
  for (const [name, shape] of Object.entries(expected)) {
    const t = params[name];
    if (!t) throw new InputError(`${label}: missing tensor '${name}' (expected shape ${shapeText(shape)})`);
    if (!sameShape(t.shape, shape))
      throw new InputError(`${label}: tensor '${name}' has shape ${shapeText(t.shape)}, expected ${shapeText(shape)}`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count)
      throw new InputError(
        `${label}: tensor '${name}' has ${t.data.length} values, but shape ${shapeText(shape)} needs ${count}`,
      );
  }
  for (const name of Object.keys(params)) {
    if (!(name in expected))
      throw new InputError(
        `${label}: unexpected tensor '${name}' (a ${cfg.act_fn} dictionary has ${Object.keys(expected).join(', ')})`,
      );
  }
}

/** Reads and parses a JSON file into a plain object; every failure is a one-line InputError naming the file. */
export function readJsonObject(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: cannot read: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InputError(`${file}: expected a JSON object`);
  return value as Record<string, unknown>;
}
