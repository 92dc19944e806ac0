// One labelled closeness check for numeric arrays: the largest absolute difference must stay within `rtol`
// times the expected array's largest magnitude (the parity criterion of the Hugging Face fixtures).
import { expect } from 'vitest';

export interface CloseOptions {
  rtol: number;
  label: string;
}

export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let maxAbs = 0;
  let maxErr = 0;
  for (let i = 0; i < expected.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(expected[i]!));
    const d = Math.abs(expected[i]! - actual[i]!);
    maxErr = Number.isNaN(d) ? Infinity : Math.max(maxErr, d);
  }
  return maxAbs === 0 ? maxErr : maxErr / maxAbs;
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, { rtol, label }: CloseOptions): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  const err = maxRelativeError(actual, expected);
  expect(err, `${label}: max |actual - expected| / max |expected| = ${err.toExponential(2)} > ${rtol}`).toBeLessThanOrEqual(rtol);
}
