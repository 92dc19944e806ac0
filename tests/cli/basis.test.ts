// The activation basis on the command line: a dictionary saved in the 'transformer-lens' basis makes
// `dictionary forward` and `eval` run pdlm-4l-256 with TransformerLens's weight processing (compared here with a
// model processed explicitly by processWeightsTransformerLens, and against the unprocessed one); --basis decides
// only when the files say nothing (one notice line when neither does) and contradicting them is a one-line error;
// `eval` reports every kind's per-axis metrics and CE loss recovered.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/validate';
import { evaluateKind, type KindEvalResult } from '../../src/core/dictionary/evaluate-kind';
import { uniformGenerator } from '../../src/core/dictionary/host64';
import type { DictionaryKind, KindConfigBase } from '../../src/core/dictionary/kind';
import { kindOf, saveAnyDictionary } from '../../src/core/dictionary/registry';
import { architectureFor } from '../../src/core/lm/architectures/registry';
import { HookedTransformer } from '../../src/core/lm/hooked-transformer';
import { readModelConfig, resolveModel } from '../../src/core/lm/load-model';
import { tokenBatch } from '../../src/core/lm/token-batch';
import { ModelTokenizer } from '../../src/core/lm/tokenizer';
import { WeightSource } from '../../src/core/lm/weight-source';
import { processWeightsTransformerLens } from '../../src/core/lm/weight-processing';
import type { HostParams } from '../../src/core/sae/host-tensor';
import { initBackend } from '../../src/core/tensor/backend';
import { openSafetensors } from '../../src/core/tensor/safetensors';
import { errorLines, runCli } from '../helpers/cli';
import { expectClose } from '../helpers/expect-close';

const B = 2;
const S = 16;
const TEXT =
  'The old man walked slowly to the market every morning. He bought bread, milk and a few apples, and then he ' +
  'sat on a bench in the park to watch the children play. When the sun was high, he went home for lunch.';
const d = 256;
const HOOKS = ['blocks.1.hook_resid_post', 'blocks.2.hook_resid_post'];

function randomParams(kind: DictionaryKind, cfg: KindConfigBase, seed: number): HostParams {
  const params = kind.init(cfg, seed);
  const u = uniformGenerator(seed + 7);
  for (const t of Object.values(params)) if (t.data.every((v) => v === 0)) t.data = t.data.map(() => u(0.05));
  return params;
}

function savedDictionary(
  config: Record<string, unknown>,
  seed: number,
): { dir: string; kind: DictionaryKind; cfg: KindConfigBase; params: HostParams } {
  const kind = kindOf(config.sae_type as string);
  const cfg = parseConfig(kind.schema, { d_model: d, norm_activation: 'inference', ...config }, 'test config');
  const params = randomParams(kind, cfg, seed);
  const dir = join(mkdtempSync(join(tmpdir(), 'sae-studio-basis-cli-')), 'dict');
  saveAnyDictionary(dir, kind, cfg, params);
  return { dir, kind, cfg, params };
}

const crosscoder = (basis: string) => ({
  sae_type: 'crosscoder',
  hook_points: HOOKS,
  d_sae: 32,
  act_fn: 'topk',
  top_k: 6,
  activation_basis: basis,
});

let raw: HookedTransformer;
let processed: HookedTransformer;
let ids: number[][];
let idsFile: string;
const acts: Record<'raw' | 'tl', Record<string, Float32Array>> = { raw: {}, tl: {} };
let tlDict: ReturnType<typeof savedDictionary>;

beforeAll(async () => {
  await initBackend('cpu');
  const dir = resolveModel('pdlm-4l-256').dir;
  const cfg = readModelConfig(dir);
  const src = WeightSource.open(dir);
  const host = architectureFor(cfg.modelType, join(dir, 'config.json')).loadParams(src, cfg);
  src.close();
  raw = HookedTransformer.fromHostParams(cfg, host);
  processed = HookedTransformer.fromHostParams(cfg, processWeightsTransformerLens(cfg, host));
  // Real text (a model's loss on random ids is so high that a random reconstruction can lower it).
  const text = ModelTokenizer.load(dir).encode(TEXT);
  expect(text.length).toBeGreaterThanOrEqual(B * (S - 1));
  ids = Array.from({ length: B }, (_, b) => [0, ...text.slice(b * (S - 1), (b + 1) * (S - 1))]);
  idsFile = join(mkdtempSync(join(tmpdir(), 'sae-studio-basis-ids-')), 'ids.json');
  writeFileSync(idsFile, JSON.stringify(ids));
  for (const [which, model] of [
    ['raw', raw],
    ['tl', processed],
  ] as const) {
    const out = model.forward(ids, { cache: HOOKS, logits: false });
    for (const h of HOOKS) acts[which][h] = (await out.cache[h]!.data()) as Float32Array;
    tf.dispose(Object.values(out.cache));
  }
  tlDict = savedDictionary(crosscoder('transformer-lens'), 3);
});

afterAll(() => {
  raw.dispose();
  processed.dispose();
});

/** The crosscoder's float64 reference on `which` activations (norm_activation 'inference': no scaling). */
function reference(which: 'raw' | 'tl'): { featureActs: Float64Array; recon: Float64Array } {
  const { kind, cfg, params } = tlDict;
  const x = new Float64Array(B * S * HOOKS.length * d);
  HOOKS.forEach((h, j) => {
    for (let t = 0; t < B * S; t++)
      for (let k = 0; k < d; k++) x[(t * HOOKS.length + j) * d + k] = acts[which][h]![t * d + k]!;
  });
  return kind.reference(cfg, params, { x, B, S });
}

function forward(dir: string, extra: string[] = []): { status: number | null; stderr: string; out: string } {
  const out = join(mkdtempSync(join(tmpdir(), 'sae-studio-basis-out-')), 'out.safetensors');
  const r = runCli([
    'dictionary',
    'forward',
    '--dictionary',
    dir,
    '--model',
    'pdlm-4l-256',
    '--ids',
    idsFile,
    '--out',
    out,
    '--backend',
    'cpu',
    ...extra,
  ]);
  return { status: r.status, stderr: errorLines(r.stderr).join('\n'), out };
}

function readOut(file: string): { featureActs: Float32Array; recon: Float32Array } {
  const f = openSafetensors(file);
  try {
    return { featureActs: f.readFloat32('feature_acts'), recon: f.readFloat32('reconstruction') };
  } finally {
    f.close();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The dictionary's folder copied, with config.json's activation_basis removed (no lm_config.json). */
function withoutRecordedBasis(dir: string): string {
  const copy = join(mkdtempSync(join(tmpdir(), 'sae-studio-basis-copy-')), 'dict');
  cpSync(dir, copy, { recursive: true });
  const path = join(copy, 'config.json');
  const c = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  delete c.activation_basis;
  writeFileSync(path, JSON.stringify(c));
  return copy;
}

describe('a dictionary recorded in the transformer-lens basis', () => {
  it('dictionary forward runs the processed model: equals the reference there, not on the unprocessed one', () => {
    const r = forward(tlDict.dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = readOut(r.out);
    const tl = reference('tl');
    const un = reference('raw');
    expectClose(got.featureActs, tl.featureActs, { rtol: 1e-5, label: 'feature_acts' });
    expectClose(got.recon, tl.recon, { rtol: 1e-5, label: 'reconstruction' });
    // The two bases really differ at these hooks (GPT-2's residual stream is mean-centred by TransformerLens).
    expect(maxAbsDiff(tl.recon, un.recon)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(got.recon, un.recon)).toBeGreaterThan(1e-2);
  });

  it('eval runs the processed model: the same numbers as evaluateKind on it, others on the unprocessed one', async () => {
    const r = runCli([
      'eval',
      '--dictionary',
      tlDict.dir,
      '--model',
      'pdlm-4l-256',
      '--windows',
      idsFile,
      '--backend',
      'cpu',
    ]);
    expect(errorLines(r.stderr).filter((l) => !l.startsWith('evaluating'))).toEqual([]);
    expect(r.status).toBe(0);
    const got = JSON.parse(r.stdout) as KindEvalResult;
    const windows = tokenBatch(ids);
    const want = await evaluateKind(processed, tlDict.kind, tlDict.cfg, tlDict.params, windows);
    const other = await evaluateKind(raw, tlDict.kind, tlDict.cfg, tlDict.params, windows);
    expectClose(got.explained_variance_per_axis, want.explained_variance_per_axis, { rtol: 1e-4, label: 'EV' });
    expectClose(got.l0_per_axis, want.l0_per_axis, { rtol: 1e-4, label: 'L0' });
    expectClose([got.mse, got.ce_with_dictionary], [want.mse, want.ce_with_dictionary], {
      rtol: 1e-4,
      label: 'mse, CE',
    });
    expect(Math.abs(got.mse - other.mse)).toBeGreaterThan(1e-3 * want.mse);
  });
});

describe('--basis', () => {
  it('decides when the files record nothing; without it one notice line says unprocessed is assumed', () => {
    const bare = withoutRecordedBasis(tlDict.dir);
    const assumed = forward(bare);
    expect(assumed.status).toBe(0);
    expect(assumed.stderr.split('\n')).toHaveLength(1);
    expect(assumed.stderr).toMatch(
      /does not record its activation basis; assuming 'unprocessed' .*--basis transformer-lens/,
    );
    expectClose(readOut(assumed.out).recon, reference('raw').recon, { rtol: 1e-5, label: 'unprocessed recon' });
    const chosen = forward(bare, ['--basis', 'transformer-lens']);
    expect(chosen.stderr).toBe('');
    expect(chosen.status).toBe(0);
    expectClose(readOut(chosen.out).recon, reference('tl').recon, { rtol: 1e-5, label: 'transformer-lens recon' });
  });

  it('contradicting the files, or an unknown basis, is a one-line error', () => {
    const conflict = forward(tlDict.dir, ['--basis', 'unprocessed']);
    expect(conflict.status).not.toBe(0);
    expect(conflict.stderr).toMatch(
      /^sae-studio: error: --basis unprocessed contradicts .*config\.json's activation_basis says the dictionary was trained in the 'transformer-lens' basis$/,
    );
    const r = runCli(['eval', '--dictionary', tlDict.dir, '--windows', idsFile, '--basis', 'tl']);
    expect(r.status).not.toBe(0);
    expect(errorLines(r.stderr)).toEqual([
      "sae-studio: error: --basis is 'tl', expected unprocessed or transformer-lens",
    ]);
  });
});

describe('sae-studio eval for every kind', () => {
  const cases: { label: string; config: Record<string, unknown>; axes: number; splice: string }[] = [
    {
      label: 'a crosscoder over two layers',
      config: crosscoder('unprocessed'),
      axes: 2,
      splice: 'one-shot',
    },
    {
      label: 'a 4-layer CLT on the MLPs',
      config: {
        sae_type: 'clt',
        hook_points_in: [0, 1, 2, 3].map((l) => `blocks.${l}.ln2.hook_normalized`),
        hook_points_out: [0, 1, 2, 3].map((l) => `blocks.${l}.hook_mlp_out`),
        d_sae: 16,
        act_fn: 'topk',
        top_k: 4,
        activation_basis: 'unprocessed',
      },
      axes: 4,
      splice: 'sequential',
    },
  ];
  for (const c of cases) {
    it(`${c.label}: per-axis EV and L0, the kind's metrics, CE loss recovered ≤ 1`, () => {
      const { dir } = savedDictionary(c.config, 9);
      const r = runCli([
        'eval',
        '--dictionary',
        dir,
        '--model',
        'pdlm-4l-256',
        '--windows',
        idsFile,
        '--backend',
        'cpu',
      ]);
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as KindEvalResult;
      expect(out.sae_type).toBe(c.config.sae_type);
      expect(out.splice).toBe(c.splice);
      expect(out.tokens).toBe(B * (S - 1));
      expect(out.explained_variance_per_axis).toHaveLength(c.axes);
      expect(out.l0_per_axis).toHaveLength(c.axes);
      for (const v of [...out.explained_variance_per_axis, ...out.l0_per_axis]) expect(Number.isFinite(v)).toBe(true);
      expect(out.l0_per_axis.every((v) => v > 0)).toBe(true);
      expect(Object.keys(out.metrics).length).toBeGreaterThan(0);
      expect(Number.isFinite(out.ce_loss_recovered)).toBe(true);
      expect(out.ce_loss_recovered).toBeLessThanOrEqual(1);
      expect(out.ce_with_dictionary).toBeGreaterThan(0);
    });
  }
});
