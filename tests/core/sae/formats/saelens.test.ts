// SAELens export/import: round trips keep the forward pass, SAELens itself (a plain re-implementation of its
// inference SAEs) computes our forward from the exported files, pre-6 configs load, unsupported ones say why.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACT_FNS, type SaeConfig } from '../../../../src/protocol/dictionary-config';
import { exportSaeLens, importSaeLens } from '../../../../src/core/sae/formats/saelens';
import type { HostParams } from '../../../../src/core/sae/host-tensor';
import { datasetScale } from '../../../../src/core/sae/sparse-dictionary';
import { initBackend } from '../../../../src/core/tensor/backend';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../../../src/core/tensor/safetensors';
import { expectClose } from '../../../helpers/expect-close';
import {
  buildSaeConfig,
  buildTranscoderConfig,
  countNonzero,
  forward,
  HOOK,
  HOOK_IN,
  HOOK_OUT,
  randomInputs,
  randomParams,
  scaledCopy,
  scratch,
} from './helpers';

let tmp: ReturnType<typeof scratch>;
beforeAll(async () => {
  await initBackend('cpu');
  tmp = scratch('saelens');
});
afterAll(() => tmp.remove());

let counter = 0;
const fresh = () => join(tmp.dir, `dict-${counter++}`);
type Json = Record<string, unknown>;

function readDir(dir: string): { json: Json; t: Record<string, Float32Array> } {
  const f = openSafetensors(join(dir, 'sae_weights.safetensors'));
  try {
    return {
      json: JSON.parse(readFileSync(join(dir, 'cfg.json'), 'utf8')) as Json,
      t: Object.fromEntries(f.names().map((n) => [n, f.readFloat32(n)])),
    };
  } finally {
    f.close();
  }
}

/**
 * SAELens's inference forward (saes/standard_sae.py, jumprelu_sae.py, topk_sae.py, transcoder.py) on raw x: returns
 * SAELens's feature activations (for TopK with rescale_acts_by_decoder_norm these are pre·‖W_dec,i‖) and output.
 */
function saeLensForward(
  { json, t }: { json: Json; t: Record<string, Float32Array> },
  x: Float32Array,
): { acts: Float32Array; recon: Float32Array } {
  const [d, F] = [json.d_in as number, json.d_sae as number];
  const arch = json.architecture as string;
  const B = x.length / d;
  const norms = Array.from({ length: F }, (_, i) =>
    json.rescale_acts_by_decoder_norm ? Math.hypot(...t.W_dec!.subarray(i * d, (i + 1) * d)) : 1,
  );
  const acts = new Float32Array(B * F);
  const recon = new Float32Array(B * d);
  for (let b = 0; b < B; b++) {
    const row = Array.from(x.subarray(b * d, (b + 1) * d));
    const c = json.normalize_activations === 'constant_norm_rescale' ? Math.sqrt(d) / Math.hypot(...row) : 1;
    const sae_in = row.map(
      (v, j) => v * c - (json.apply_b_dec_to_input && !arch.endsWith('transcoder') ? t.b_dec![j]! : 0),
    );
    const h = Array.from({ length: F }, (_, i) => {
      let s = t.b_enc![i]!;
      for (let j = 0; j < d; j++) s += sae_in[j]! * t.W_enc![j * F + i]!;
      return s * norms[i]!;
    });
    const kth = [...h].sort((p, q) => q - p)[(json.k as number) - 1]!;
    for (let i = 0; i < F; i++) {
      const keep = arch.startsWith('jumprelu') ? h[i]! > t.threshold![i]! : arch === 'topk' ? h[i]! >= kth : true;
      acts[b * F + i] = keep ? Math.max(h[i]!, 0) : 0;
    }
    for (let j = 0; j < d; j++) {
      let s = t.b_dec![j]!;
      for (let i = 0; i < F; i++) s += (acts[b * F + i]! / norms[i]!) * t.W_dec![i * d + j]!;
      recon[b * d + j] = s / c;
    }
  }
  return { acts, recon };
}

/** Our feature activations in SAELens's units (×‖W_D,i‖ for a TopK SAE exported with rescale_acts_by_decoder_norm). */
function inSaeLensUnits(cfg: SaeConfig, params: HostParams, acts: Float32Array): Float32Array {
  if (cfg.act_fn !== 'topk' || !cfg.sparsity_include_decoder_norm) return acts;
  const d = cfg.d_model;
  const norms = Array.from({ length: cfg.d_sae }, (_, i) =>
    Math.hypot(...params.W_D!.data.subarray(i * d, (i + 1) * d)),
  );
  return Float32Array.from(acts, (v, k) => v * norms[k % cfg.d_sae]!);
}

const KINDS = { sae: buildSaeConfig, transcoder: buildTranscoderConfig };

/** Exports, imports and runs one configuration: our forward survives the trip, and SAELens computes it from the files. */
async function expectRoundTrip(
  build: (typeof KINDS)[keyof typeof KINDS],
  act_fn: (typeof ACT_FNS)[number],
  sparsity_include_decoder_norm: boolean,
): Promise<void> {
  const cfg = build({ act_fn, sparsity_include_decoder_norm, model_name: 'gpt2' });
  const params = randomParams(cfg, 7);
  const dir = fresh();
  exportSaeLens(dir, cfg, params, { context_size: 128 });
  const imported = importSaeLens(dir);
  expect(imported.cfg).toMatchObject({
    hook_point_in: cfg.hook_point_in,
    hook_point_out: cfg.hook_point_out,
    d_sae: 24,
    model_name: 'gpt2',
    norm_activation: 'inference',
  });
  expect(imported.cfg.act_fn).toBe(act_fn === 'batchtopk' ? 'jumprelu' : act_fn);
  const x = randomInputs(16, cfg.d_model, 9, 2);
  const [a, b] = [await forward(cfg, params, x), await forward(imported.cfg, imported.params, x)];
  const active = countNonzero(a.acts);
  expect(active).toBeGreaterThan(0);
  if (act_fn !== 'relu') expect(active).toBeLessThan(a.acts.length);
  expectClose(b.acts, a.acts, { rtol: 1e-5, label: 'feature activations' });
  expectClose(b.recon, a.recon, { rtol: 1e-5, label: 'reconstruction' });
  const ref = saeLensForward(readDir(dir), x);
  expectClose(ref.acts, inSaeLensUnits(cfg, params, a.acts), {
    rtol: 1e-5,
    label: 'SAELens feature activations',
  });
  expectClose(ref.recon, a.recon, { rtol: 1e-5, label: 'SAELens output' });
}

describe('SAELens round trip of every kind, activation and decoder-norm setting', () => {
  for (const [kind, build] of Object.entries(KINDS)) {
    for (const act_fn of ACT_FNS) {
      for (const sparsity_include_decoder_norm of [true, false]) {
        const name = `${kind} ${act_fn}, decoder norms ${sparsity_include_decoder_norm}`;
        if (kind === 'transcoder' && act_fn === 'topk') {
          it(`${name}: SAELens has no TopK transcoder`, () => {
            const cfg = build({ act_fn });
            expect(() => exportSaeLens(fresh(), cfg, randomParams(cfg, 1))).toThrow('SAELens has no TopK transcoder');
          });
          continue;
        }
        it(`${name}: export → import keeps the forward, and SAELens computes it from the files`, () =>
          expectRoundTrip(build, act_fn, sparsity_include_decoder_norm));
      }
    }
  }
});

describe('SAELens export of activation normalisation', () => {
  it.each([
    ['sae', buildSaeConfig, { [HOOK]: 9 }],
    ['transcoder', buildTranscoderConfig, { [HOOK_IN]: 1.5, [HOOK_OUT]: 40 }],
  ] as const)(
    'folds a dataset-wise %s: SAELens on raw activations = ours on normalised ones',
    async (_, build, norms) => {
      const cfg = build({
        act_fn: 'jumprelu',
        norm_activation: 'dataset-wise',
        dataset_average_activation_norm: norms,
      });
      const params = randomParams(cfg, 8);
      const dir = fresh();
      exportSaeLens(dir, cfg, params);
      const [sIn, sOut] = [datasetScale(cfg, cfg.hook_point_in), datasetScale(cfg, cfg.hook_point_out)];
      const x = randomInputs(16, cfg.d_model, 4, 2 / sIn);
      const ours = await forward(cfg, params, scaledCopy(x, sIn));
      const ref = saeLensForward(readDir(dir), x);
      expect(readDir(dir).json.normalize_activations).toBe('none');
      expectClose(ref.acts, ours.acts, { rtol: 1e-5, label: 'feature activations' });
      expectClose(ref.recon, scaledCopy(ours.recon, 1 / sOut), { rtol: 1e-5, label: 'de-normalised output' });
      const imported = importSaeLens(dir);
      expectClose((await forward(imported.cfg, imported.params, x)).recon, ref.recon, {
        rtol: 1e-5,
        label: 'imported output',
      });
    },
  );

  it('maps a token-wise SAE to constant_norm_rescale and back', async () => {
    const cfg = buildSaeConfig({ act_fn: 'relu', norm_activation: 'token-wise' });
    const params = randomParams(cfg, 2);
    const dir = fresh();
    exportSaeLens(dir, cfg, params);
    expect(readDir(dir).json.normalize_activations).toBe('constant_norm_rescale');
    expect(importSaeLens(dir).cfg).toMatchObject({
      act_fn: 'relu',
      norm_activation: 'token-wise',
      apply_decoder_bias_to_pre_encoder: true,
    });
    // Ours takes each token scaled to norm sqrt(d_model); SAELens scales and unscales itself.
    const x = randomInputs(4, 8, 3, 5);
    const ref = saeLensForward(readDir(dir), x);
    for (let b = 0; b < 4; b++) {
      const row = x.subarray(b * 8, (b + 1) * 8);
      const c = Math.sqrt(8) / Math.hypot(...row);
      const ours = await forward(cfg, params, scaledCopy(row, c));
      expectClose(ref.recon.subarray(b * 8, (b + 1) * 8), scaledCopy(ours.recon, 1 / c), {
        rtol: 1e-5,
        label: `row ${b}`,
      });
    }
  });
});

describe('SAELens export cfg.json', () => {
  it('writes a v6 cfg.json with metadata', () => {
    const dir = fresh();
    const cfg = buildTranscoderConfig({ act_fn: 'batchtopk', model_name: 'pdlm-4l-256' });
    exportSaeLens(dir, cfg, randomParams(cfg, 1), { context_size: 256, prepend_bos: true, dataset_path: 'pdlm' });
    expect(readDir(dir).json).toEqual({
      architecture: 'jumprelu_transcoder',
      d_in: 8,
      d_sae: 24,
      dtype: 'float32',
      device: 'cpu',
      apply_b_dec_to_input: false,
      normalize_activations: 'none',
      reshape_activations: 'none',
      d_out: 8,
      hook_name_out: HOOK_OUT,
      hook_layer_out: 2,
      hook_head_index_out: null,
      metadata: {
        model_name: 'pdlm-4l-256',
        hook_name: HOOK_IN,
        hook_layer: 2,
        hook_head_index: null,
        context_size: 256,
        prepend_bos: true,
        dataset_path: 'pdlm',
        model_class_name: 'HookedTransformer',
        model_from_pretrained_kwargs: {
          fold_ln: false,
          center_writing_weights: false,
          fold_value_biases: false,
          center_unembed: false,
        },
        sae_lens_version: '6.0.0',
        sae_lens_training_version: '6.0.0',
      },
    });
    const topk = buildSaeConfig({ act_fn: 'topk', top_k: 3 });
    exportSaeLens(dir, topk, randomParams(topk, 1), { hook_layer: 7 });
    expect(readDir(dir).json).toMatchObject({
      architecture: 'topk',
      k: 3,
      rescale_acts_by_decoder_norm: true,
      apply_b_dec_to_input: true,
      metadata: { hook_layer: 7 },
    });
  });
});

describe('SAELens export refusals', () => {
  it.each([
    ['batch-wise', buildSaeConfig({ norm_activation: 'batch-wise' }), "'batch-wise' has no SAELens equivalent"],
    [
      'token-wise transcoder',
      buildTranscoderConfig({ norm_activation: 'token-wise' }),
      'a token-wise transcoder cannot be exported',
    ],
  ])('refuses a %s dictionary', (_, cfg, message) => {
    const dir = fresh();
    expect(() => exportSaeLens(dir, cfg, randomParams(cfg, 1))).toThrow(message);
    expect(tmp.entries().filter((e) => e.startsWith('.'))).toEqual([]);
  });
});

// Weights and configs as SAELens writes them, for the import suites.
const f32 = (data: Float32Array, shape: number[]): TensorToWrite => ({ dtype: 'F32', shape, data });
/** A dictionary directory as SAELens writes it: cfg.json and sae_weights.safetensors. */
function writeSaeLensDir(json: Json, tensors: Record<string, TensorToWrite>): string {
  const dir = fresh();
  mkdirSync(dir);
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify(json));
  writeSafetensors(join(dir, 'sae_weights.safetensors'), tensors);
  return dir;
}
const p = randomParams(buildSaeConfig({ act_fn: 'jumprelu' }), 5);
const WEIGHTS = {
  W_enc: f32(p.W_E!.data, [8, 24]),
  b_enc: f32(p.b_E!.data, [24]),
  W_dec: f32(p.W_D!.data, [24, 8]),
  b_dec: f32(p.b_D!.data, [8]),
};
const THRESHOLD = f32(Float32Array.from(p.log_jumprelu_threshold!.data, Math.exp), [24]);
const PRE_6 = {
  architecture: 'standard',
  d_in: 8,
  d_sae: 24,
  dtype: 'float32',
  model_name: 'gpt2-small',
  hook_name: HOOK,
  hook_layer: 1,
  hook_head_index: null,
  activation_fn_str: 'relu',
  apply_b_dec_to_input: true,
  finetuning_scaling_factor: false,
  context_size: 128,
  prepend_bos: true,
  dataset_path: 'Skylion007/openwebtext',
  normalize_activations: false,
  sae_lens_training_version: '3.13.0',
};
const V6 = {
  architecture: 'jumprelu',
  d_in: 8,
  d_sae: 24,
  dtype: 'bfloat16',
  device: 'cuda',
  apply_b_dec_to_input: false,
  normalize_activations: 'none',
  reshape_activations: 'none',
  metadata: {
    model_name: 'gemma-2-2b',
    hook_name: HOOK,
    hook_head_index: null,
    sae_lens_version: '6.5.1',
    neuronpedia_id: 'x',
  },
};

describe('SAELens import of pre-6 files', () => {
  it('reads a pre-6 flat cfg.json (relu, an all-ones scaling factor)', async () => {
    const dir = writeSaeLensDir(PRE_6, { ...WEIGHTS, scaling_factor: f32(new Float32Array(24).fill(1), [24]) });
    const { cfg, params } = importSaeLens(dir);
    expect(cfg).toMatchObject({
      act_fn: 'relu',
      hook_point_in: HOOK,
      apply_decoder_bias_to_pre_encoder: true,
      norm_activation: 'inference',
      model_name: 'gpt2-small',
    });
    const x = randomInputs(8, 8, 1);
    expectClose((await forward(cfg, params, x)).recon, saeLensForward(readDir(dir), x).recon, {
      rtol: 1e-5,
      label: 'output',
    });
  });

  it('reads a pre-6 TopK (standard + activation_fn_str topk + activation_fn_kwargs.k)', () => {
    const dir = writeSaeLensDir({ ...PRE_6, activation_fn_str: 'topk', activation_fn_kwargs: { k: 5 } }, WEIGHTS);
    expect(importSaeLens(dir).cfg).toMatchObject({ act_fn: 'topk', top_k: 5, sparsity_include_decoder_norm: false });
  });
});

describe('SAELens import of v6 files', () => {
  it('reads a v6 JumpReLU SAE and computes what SAELens computes', async () => {
    const dir = writeSaeLensDir(V6, { ...WEIGHTS, threshold: THRESHOLD });
    const { cfg, params } = importSaeLens(dir);
    expect(cfg).toMatchObject({
      act_fn: 'jumprelu',
      apply_decoder_bias_to_pre_encoder: false,
      model_name: 'gemma-2-2b',
    });
    const x = randomInputs(8, 8, 1, 2);
    const [ours, ref] = [await forward(cfg, params, x), saeLensForward(readDir(dir), x)];
    expectClose(ours.acts, ref.acts, { rtol: 1e-5, label: 'feature activations' });
    expectClose(ours.recon, ref.recon, { rtol: 1e-5, label: 'output' });
  });
});

describe('SAELens import refusals', () => {
  it.each([
    ['gated', { ...V6, architecture: 'gated' }, "field 'architecture': 'gated' is not supported"],
    ['skip_transcoder', { ...V6, architecture: 'skip_transcoder' }, "'skip_transcoder' is not supported"],
    [
      'expected_average_only_in',
      { ...V6, normalize_activations: 'expected_average_only_in' },
      "'expected_average_only_in' needs a scaling factor",
    ],
    [
      'a legacy true normalize_activations',
      { ...PRE_6, normalize_activations: true },
      "'expected_average_only_in' needs a scaling factor",
    ],
    ['layer_norm', { ...V6, normalize_activations: 'layer_norm' }, "'layer_norm' is not supported"],
    [
      'a head-indexed hook',
      { ...V6, metadata: { ...V6.metadata, hook_head_index: 3 } },
      'head-indexed hooks are not supported',
    ],
    ['no hook name', { ...V6, metadata: { sae_lens_version: '6.0.0' } }, "field 'metadata.hook_name': missing"],
    ['tanh-relu', { ...PRE_6, activation_fn_str: 'tanh-relu' }, "'tanh-relu' is not supported"],
    [
      'a transcoder with d_out ≠ d_in',
      { ...V6, architecture: 'jumprelu_transcoder', d_out: 16, hook_name_out: HOOK_OUT },
      "field 'd_out': must equal d_in",
    ],
    ['a bad d_sae', { ...V6, d_sae: 0 }, "field 'd_sae'"],
  ])('rejects %s with a clear message', (_, json, message) => {
    const dir = writeSaeLensDir(json, { ...WEIGHTS, threshold: THRESHOLD });
    expect(() => importSaeLens(dir)).toThrow(message);
  });

  it('names a missing or corrupt cfg.json, and missing, wrong-shaped or unexpected tensors', () => {
    const dir = writeSaeLensDir(V6, WEIGHTS);
    const weights = join(dir, 'sae_weights.safetensors');
    expect(() => importSaeLens(dir)).toThrow(`${weights}: missing tensor 'threshold' (expected shape [24])`);
    writeSafetensors(weights, { ...WEIGHTS, threshold: THRESHOLD, W_dec: f32(p.W_D!.data, [8, 24]) });
    expect(() => importSaeLens(dir)).toThrow(`${weights}: tensor 'W_dec' has shape [8, 24], expected [24, 8]`);
    writeSafetensors(weights, {
      ...WEIGHTS,
      threshold: THRESHOLD,
      scaling_factor: f32(new Float32Array(24).fill(2), [24]),
    });
    expect(() => importSaeLens(dir)).toThrow(`${weights}: unexpected tensor 'scaling_factor'`);
    writeFileSync(join(dir, 'cfg.json'), '{"architecture": ');
    expect(() => importSaeLens(dir)).toThrow(`${join(dir, 'cfg.json')}: invalid JSON`);
    expect(() => importSaeLens(tmp.dir)).toThrow(`${join(tmp.dir, 'cfg.json')}: missing`);
  });
});
