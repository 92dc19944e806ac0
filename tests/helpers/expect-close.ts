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
    // A value missing from `actual` (a shorter array) is NaN here, so an infinite error.
    const e = expected[i] ?? Number.NaN;
    maxAbs = Math.max(maxAbs, Math.abs(e));
    const d = Math.abs(e - (actual[i] ?? Number.NaN));
    maxErr = Number.isNaN(d) ? Infinity : Math.max(maxErr, d);
  }
  return maxAbs === 0 ? maxErr : maxErr / maxAbs;
}

export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol, label }: CloseOptions,
): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  const err = maxRelativeError(actual, expected);
  expect(
    err,
    `${label}: max |actual - expected| / max |expected| = ${err.toExponential(2)} > ${rtol}`,
  ).toBeLessThanOrEqual(rtol);
}

/**
 * ‖actual − expected‖ / ‖expected‖ ≤ rtol, for weights after several optimiser steps. Adam's first step moves an
 * element by lr·g/(|g| + eps), about lr whatever |g| is, so an element whose gradient is 0 but for rounding (e.g. a
 * latent that is a token's only active one under the tied initialisation, whose residual is orthogonal to it) moves
 * by a different fraction of lr on two paths that round differently: element by element such runs differ by up to
 * ~lr (both equally right), while a wrong gradient anywhere moves the whole tensor.
 */
export function expectNormClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol, label }: CloseOptions,
): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let diff = 0,
    norm = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] ?? Number.NaN;
    diff += ((actual[i] ?? Number.NaN) - e) ** 2;
    norm += e ** 2;
  }
  const err = norm === 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
  expect(err, `${label}: ‖actual − expected‖ / ‖expected‖ = ${err.toExponential(2)} > ${rtol}`).toBeLessThanOrEqual(
    rtol,
  );
}
