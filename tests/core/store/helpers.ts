// Shared builders for the store tests: temporary store folders and synthetic analysis results.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { AnalysisContext, AnalysisResult, FeatureAnalysis, FeatureSample } from '../../../src/core/analysis/types';

/** A fresh folder per test, removed after it. */
export function useTempDirs(): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-store-'));
    made.push(dir);
    return dir;
  };
}

/** mulberry32: a small seeded generator, so synthetic analyses are reproducible. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticOptions {
  dictionaryName?: string;
  dSae?: number;
  /** Indices of the features analysed (default: 0 … nFeatures−1). */
  featureIndices?: number[];
  nFeatures?: number;
  nContexts?: number;
  contextSize?: number;
  samplingNames?: string[];
  samplesPerSampling?: number;
  seed?: number;
  createdAt?: string;
}

/**
 * A consistent AnalysisResult: frequencies and max activations are distinct permutations of the feature order
 * (so each sort gives its own order), samples point at real contexts with sorted in-range positions.
 */
export function syntheticAnalysis(options: SyntheticOptions = {}): AnalysisResult {
  const rand = random(options.seed ?? 1);
  const dSae = options.dSae ?? 64;
  const indices = options.featureIndices ?? Array.from({ length: options.nFeatures ?? 12 }, (_, i) => i);
  const contextSize = options.contextSize ?? 16;
  const tokensAnalysed = 10_000;
  const contexts: AnalysisContext[] = Array.from({ length: options.nContexts ?? 10 }, (_, c) => ({
    contextIndex: c * 3 + 1,
    tokens: Int32Array.from({ length: contextSize }, (_, t) => (t === 0 ? 50256 : Math.floor(rand() * 50000))),
  }));
  const samplingNames = options.samplingNames ?? ['top_activations', 'quantile_1', 'non_activating'];
  const sample = (scale: number): FeatureSample => {
    const context = contexts[Math.floor(rand() * contexts.length)]!;
    const positions = [
      ...new Set(Array.from({ length: 1 + Math.floor(rand() * 4) }, () => 1 + Math.floor(rand() * (contextSize - 1)))),
    ].sort((a, b) => a - b);
    const values = Float32Array.from(positions, () => Math.fround(scale * (0.1 + rand())));
    return {
      contextIndex: context.contextIndex,
      positions: Int32Array.from(positions),
      values,
      maxActivation: Math.max(...values),
    };
  };
  const features: FeatureAnalysis[] = indices.map((index) => {
    const actCount = 1 + ((index * 37) % 101);
    return {
      index,
      actCount,
      frequency: actCount / tokensAnalysed,
      maxActivation: 1 + ((index * 53) % 97) / 10,
      meanActivation: 0.5 + ((index * 29) % 89) / 100,
      histogram: { edges: [0, 0.5, 1, 1.5], counts: [actCount - 2, 1, 1] },
      samplings: samplingNames.map((name, s) => ({
        name,
        samples:
          name === 'non_activating' ? [] : Array.from({ length: options.samplesPerSampling ?? 3 }, () => sample(s + 1)),
      })),
      topLogits: [
        { tokenId: index, token: ` tok${index}`, logit: 2.5 },
        { tokenId: 7, token: 'seven', logit: 1.25 },
      ],
      bottomLogits: [{ tokenId: 9, token: 'nine', logit: -3 }],
      neighbours: [{ index: (index + 1) % dSae, cosine: 0.75 }],
    };
  });
  return {
    dictionaryName: options.dictionaryName ?? 'toy-sae',
    dictionaryDir: '/tmp/dictionaries/toy-sae',
    modelName: 'pdlm-4l-256',
    hookPointIn: 'blocks.1.hook_resid_post',
    hookPointOut: 'blocks.1.hook_resid_post',
    dSae,
    dataset: { spec: 'corpus:sotu', split: 'validation', contextSize },
    tokensAnalysed,
    createdAt: options.createdAt ?? '2025-01-02T03:04:05.000Z',
    contexts,
    features,
  };
}
