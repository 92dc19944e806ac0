// Shared helpers for the core/activations tests: synthetic windows for the tiny gpt2 fixture, collecting
// batches, comparing batches bit for bit, temp folders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { Mt19937 } from '../../../src/core/data/random/mt19937';
import type { TokenBatch } from '../../../src/core/lm/token-batch';
import type { ActivationBatch, ActivationStream } from '../../../src/core/activations';

export const BOS = 0;
export const PAD = 7;
export const IGNORED = 9;

/** n windows of S tokens (vocab 512): BOS first, random ids, a few PAD and IGNORED ids scattered in. */
export function syntheticWindows(n: number, S: number, seed = 1): TokenBatch {
  const rng = new Mt19937(seed);
  const ids = new Int32Array(n * S);
  for (let i = 0; i < ids.length; i++) {
    const u = rng.nextUint32();
    ids[i] = i % S === 0 ? BOS : u % 50 === 0 ? PAD : u % 50 === 1 ? IGNORED : 10 + (u % 500);
  }
  return { ids, batch: n, seq: S };
}

export async function take<S>(stream: ActivationStream<S>, count = Infinity): Promise<ActivationBatch[]> {
  const out: ActivationBatch[] = [];
  while (out.length < count) {
    const b = await stream.next();
    if (!b) break;
    out.push(b);
  }
  return out;
}

/** Same rows, same origins, same bits. */
export function expectSameBatches(actual: ActivationBatch[], expected: ActivationBatch[], label: string): void {
  expect(actual.length, `${label}: batch count`).toBe(expected.length);
  actual.forEach((b, i) => {
    expect(b.rows, `${label}: batch ${i} rows`).toBe(expected[i]!.rows);
    expect(Buffer.from(b.origin!.buffer, b.origin!.byteOffset, b.origin!.byteLength).equals(Buffer.from(expected[i]!.origin!.buffer, expected[i]!.origin!.byteOffset, expected[i]!.origin!.byteLength)), `${label}: batch ${i} origins`).toBe(true);
    for (const [h, acts] of Object.entries(expected[i]!.acts)) {
      const a = b.acts[h]!;
      expect(a.length, `${label}: batch ${i} ${h} length`).toBe(acts.length);
      expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(acts.buffer, acts.byteOffset, acts.byteLength)), `${label}: batch ${i} ${h} bits`).toBe(true);
    }
  });
}

/** A fresh temp folder per call, removed after the test. */
export function useTempDirs(): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-acts-'));
    made.push(dir);
    return dir;
  };
}
