// Argument checks shared by the activation streams and the cache writer: one-line InputErrors naming the field.
import { InputError } from '../errors';

export function checkHookPoints(hookPoints: readonly string[]): void {
  if (hookPoints.length === 0)
    throw new InputError('hook_points: empty, expected at least one hook point (e.g. blocks.0.hook_resid_post)');
  const seen = new Set<string>();
  for (const h of hookPoints) {
    if (seen.has(h)) throw new InputError(`hook_points: '${h}' is listed twice, expected distinct hook points`);
    seen.add(h);
  }
}

export function checkCount(value: number, field: string, min = 1): void {
  if (!Number.isSafeInteger(value) || value < min)
    throw new InputError(`${field}: ${value}, expected an integer ≥ ${min}`);
}

export function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new InputError(`seed: ${seed}, expected an integer in 0..4294967295`);
}
