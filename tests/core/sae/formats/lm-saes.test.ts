// lm-saes dictionary directories: round trips for every act_fn, files that lm-saes itself wrote, the forward that
// lm-saes would compute from our files (a plain re-implementation of models/sae.py), atomic saves, and bad input.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACT_FNS, type SaeConfig } from '../../../../src/protocol/dictionary-config';
import { loadLmSaesDictionary, saveLmSaesDictionary } from '../../../../src/core/sae/formats/lm-saes';
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
  tmp = scratch('lm-saes');
});
afterAll(() => tmp.remove());

let counter = 0;
const fresh = () => join(tmp.dir, `dict-${counter++}`);

function readTensorsWithShapes(file: string): Record<string, TensorToWrite & { data: Float32Array }> {
  const f = openSafetensors(file);
  try {
    return Object.fromEntries(
      f.names().map((n) => [n, { dtype: 'F32' as const, shape: [...f.info(n).shape], data: f.readFloat32(n) }]),
    );
  } finally {
    f.close();
  }
}

function readTensors(file: string): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(readTensorsWithShapes(file)).map(([n, t]) => [n, t.data]));
}

/**
 * What lm-saes (models/sae.py) computes from a config.json and its weights: pre = x W_E + b_E (no b_D
 * subtraction); with sparsity_include_decoder_norm the activation function sees pre·‖W_D,i‖ and its output is
 * divided back; JumpReLU keeps h > exp(log θ); TopK keeps the k largest h per row, clamped at 0.
 */
function lmSaesForward(
  json: Record<string, unknown>,
  t: Record<string, Float32Array>,
  x: Float32Array,
): { acts: Float32Array; recon: Float32Array } {
  const d = json.d_model as number;
  const F = Math.trunc(d * (json.expansion_factor as number));
  const B = x.length / d;
  const norms = Array.from({ length: F }, (_, i) =>
    json.sparsity_include_decoder_norm ? Math.hypot(...t.W_D!.subarray(i * d, (i + 1) * d)) : 1,
  );
  const acts = new Float32Array(B * F);
  const recon = new Float32Array(B * d);
  for (let b = 0; b < B; b++) {
    const h = Array.from({ length: F }, (_, i) => {
      let s = t.b_E![i]!;
      for (let j = 0; j < d; j++) s += x[b * d + j]! * t.W_E![j * F + i]!;
      return s * norms[i]!;
    });
    const keep = (i: number): boolean => {
      if (json.act_fn === 'jumprelu') return h[i]! > Math.exp(t['activation_function.log_jumprelu_threshold']![i]!);
      if (json.act_fn === 'topk')
        return [...h].sort((p, q) => q - p).indexOf(h[i]!) < (json.top_k as number) && h[i]! > 0;
      return h[i]! > 0;
    };
    for (let i = 0; i < F; i++) acts[b * F + i] = keep(i) ? h[i]! / norms[i]! : 0;
    for (let j = 0; j < d; j++) {
      let s = t.b_D?.[j] ?? 0;
      for (let i = 0; i < F; i++) s += acts[b * F + i]! * t.W_D![i * d + j]!;
      recon[b * d + j] = s;
    }
  }
  return { acts, recon };
}

const KINDS = { sae: buildSaeConfig, transcoder: buildTranscoderConfig };

describe('lm-saes round trip', () => {
  for (const [kind, build] of Object.entries(KINDS)) {
    for (const act_fn of ACT_FNS) {
      for (const sparsity_include_decoder_norm of [true, false]) {
        it(`${kind} ${act_fn}, decoder norms ${sparsity_include_decoder_norm}: same config, same tensors, same forward`, async () => {
          const cfg = build({ act_fn, sparsity_include_decoder_norm, model_name: 'pdlm-4l-256' });
          const params = randomParams(cfg, 3);
          const dir = fresh();
          saveLmSaesDictionary(dir, cfg, params);
          const loaded = loadLmSaesDictionary(dir);
          expect(loaded.cfg).toEqual(cfg);
          expect(Object.keys(loaded.params).sort()).toEqual(Object.keys(params).sort());
          for (const [name, t] of Object.entries(params)) {
            expect(loaded.params[name]!.shape, name).toEqual(t.shape);
            expectClose(loaded.params[name]!.data, t.data, { rtol: 1e-6, label: name });
          }
          const x = randomInputs(16, cfg.d_model, 9, 2);
          const [a, b] = [await forward(cfg, params, x), await forward(loaded.cfg, loaded.params, x)];
          expect(countNonzero(a.acts)).toBeGreaterThan(0);
          expectClose(b.acts, a.acts, { rtol: 1e-5, label: 'feature activations' });
          expectClose(b.recon, a.recon, { rtol: 1e-5, label: 'reconstruction' });
          if (act_fn !== 'batchtopk') {
            // lm-saes, reading the same files, computes our forward (b_D folded into b_E, thresholds on pre·‖W_D‖).
            const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
            const ref = lmSaesForward(json, readTensors(join(dir, 'sae_weights.safetensors')), x);
            expectClose(ref.acts, a.acts, { rtol: 1e-5, label: 'lm-saes feature activations' });
            expectClose(ref.recon, a.recon, { rtol: 1e-5, label: 'lm-saes reconstruction' });
          }
        });
      }
    }
  }

  it('writes lm-saes field names, an expansion factor lm-saes truncates back to d_sae, and norms only as tensors', () => {
    const cfg = buildSaeConfig({
      d_model: 11,
      d_sae: 30,
      norm_activation: 'dataset-wise',
      dataset_average_activation_norm: { [HOOK]: 4.5 },
    });
    const dir = fresh();
    saveLmSaesDictionary(dir, cfg, randomParams(cfg, 1), { lmConfig: { model_name: 'gpt2', d_model: 11 } });
    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(json).toMatchObject({
      sae_type: 'sae',
      hook_point_in: HOOK,
      hook_point_out: HOOK,
      d_model: 11,
      d_sae: 30,
      act_fn: 'relu',
    });
    expect(Math.trunc(11 * (json.expansion_factor as number))).toBe(30); // 30 / 11 * 11 < 30 in float64
    expect(json).toMatchObject({
      apply_decoder_bias_to_pre_encoder: false,
      studio_apply_decoder_bias_to_pre_encoder: true,
      use_glu_encoder: false,
      norm_activation: 'dataset-wise',
    });
    expect(json).not.toHaveProperty('dataset_average_activation_norm');
    const tensors = readTensors(join(dir, 'sae_weights.safetensors'));
    expect(Array.from(tensors[`dataset_average_activation_norm.${HOOK}`]!)).toEqual([4.5]);
    expect(JSON.parse(readFileSync(join(dir, 'lm_config.json'), 'utf8'))).toEqual({
      model_name: 'gpt2',
      d_model: 11,
      backend: 'huggingface', // the unprocessed basis, as lm-saes's backends name it
    });
    const loaded = loadLmSaesDictionary(dir);
    expect(loaded.cfg).toEqual(cfg);
    expect(loaded.lmConfig).toEqual({
      model_name: 'gpt2',
      d_model: 11,
      backend: 'huggingface', // the unprocessed basis, as lm-saes's backends name it
    });
  });

  it('keeps dataset-wise norms of a transcoder for both hooks', () => {
    const cfg = buildTranscoderConfig({
      norm_activation: 'dataset-wise',
      dataset_average_activation_norm: { [HOOK_IN]: 2, [HOOK_OUT]: 30 },
    });
    const dir = fresh();
    saveLmSaesDictionary(dir, cfg, randomParams(cfg, 1));
    expect(loadLmSaesDictionary(dir).cfg).toEqual(cfg);
  });

  it('overwrites an existing dictionary and leaves nothing else beside it', () => {
    const cfg = buildSaeConfig();
    const dir = fresh();
    saveLmSaesDictionary(dir, buildSaeConfig({ act_fn: 'topk' }), randomParams(buildSaeConfig({ act_fn: 'topk' }), 1), {
      lmConfig: { model_name: 'x' },
    });
    const params = randomParams(cfg, 2);
    saveLmSaesDictionary(dir, cfg, params);
    const loaded = loadLmSaesDictionary(dir);
    expect(loaded.cfg.act_fn).toBe('relu');
    expect(loaded.lmConfig).toBeNull();
    expect(Array.from(loaded.params.W_E!.data)).toEqual(Array.from(params.W_E!.data));
    expect(tmp.entries().filter((e) => e.startsWith('.'))).toEqual([]);
  });
});

describe('lm-saes files written by lm-saes', () => {
  /** A directory as lm-saes's runner and save_pretrained leave it (config.json = SAEConfig.model_dump()). */
  function writeLmSaesDir(config: Record<string, unknown>, tensors: Record<string, TensorToWrite>): string {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 4));
    writeSafetensors(join(dir, 'sae_weights.safetensors'), tensors, { version: '2.0.0' });
    return dir;
  }
  const LM_SAES_DUMP = {
    sae_type: 'sae',
    d_model: 8,
    expansion_factor: 3.0,
    use_decoder_bias: true,
    act_fn: 'jumprelu',
    norm_activation: 'dataset-wise',
    sparsity_include_decoder_norm: true,
    top_k: 50,
    use_triton_kernel: false,
    sparsity_threshold_for_triton_spmm_kernel: 0.996,
    jumprelu_threshold_window: 2.0,
    hook_point_in: HOOK,
    hook_point_out: HOOK,
    use_glu_encoder: false,
  };
  const f32 = (data: Float32Array, shape: number[]): TensorToWrite => ({ dtype: 'F32', shape, data });
  function lmSaesTensors(cfg: SaeConfig, p: HostParams, log: Float32Array): Record<string, TensorToWrite> {
    return {
      W_E: f32(p.W_E!.data, [8, 24]),
      b_E: f32(p.b_E!.data, [24]),
      W_D: f32(p.W_D!.data, [24, 8]),
      b_D: f32(p.b_D!.data, [8]),
      'activation_function.log_jumprelu_threshold': f32(log, [cfg.d_sae]),
    };
  }

  it('loads a dataset-wise JumpReLU SAE with decoder-norm gating and computes what lm-saes computes', async () => {
    const cfg = buildSaeConfig({ act_fn: 'jumprelu' });
    const p = randomParams(cfg, 4);
    const log = Float32Array.from(p.log_jumprelu_threshold!.data, (v) => v - 0.5);
    const dir = writeLmSaesDir(LM_SAES_DUMP, {
      ...lmSaesTensors(cfg, p, log),
      [`dataset_average_activation_norm.${HOOK}`]: { dtype: 'BF16', shape: [], data: [6.5] },
    });
    const loaded = loadLmSaesDictionary(dir);
    expect(loaded.cfg).toMatchObject({
      d_sae: 24,
      expansion_factor: 3,
      apply_decoder_bias_to_pre_encoder: false,
      norm_activation: 'dataset-wise',
      dataset_average_activation_norm: { [HOOK]: 6.5 },
    });
    const s = datasetScale(loaded.cfg, HOOK);
    const x = scaledCopy(randomInputs(16, 8, 2, 3), s);
    const ours = await forward(loaded.cfg, loaded.params, x);
    const ref = lmSaesForward(
      LM_SAES_DUMP,
      {
        W_E: p.W_E!.data,
        b_E: p.b_E!.data,
        W_D: p.W_D!.data,
        b_D: p.b_D!.data,
        'activation_function.log_jumprelu_threshold': log,
      },
      x,
    );
    expect(countNonzero(ref.acts)).toBeGreaterThan(0);
    expectClose(ours.acts, ref.acts, { rtol: 1e-5, label: 'feature activations' });
    expectClose(ours.recon, ref.recon, { rtol: 1e-5, label: 'reconstruction' });
  });

  it("ignores the uninitialised norm tensors of an 'inference' dictionary and accepts the legacy threshold name", () => {
    const cfg = buildSaeConfig({ act_fn: 'jumprelu' });
    const p = randomParams(cfg, 4);
    const { 'activation_function.log_jumprelu_threshold': threshold, ...rest } = lmSaesTensors(
      cfg,
      p,
      p.log_jumprelu_threshold!.data,
    );
    const dir = writeLmSaesDir(
      { ...LM_SAES_DUMP, norm_activation: 'inference', sparsity_include_decoder_norm: false, dtype: 'torch.float32' },
      {
        ...rest,
        log_jumprelu_threshold: threshold!,
        [`dataset_average_activation_norm.${HOOK}`]: f32(Float32Array.of(NaN), []),
      },
    );
    const loaded = loadLmSaesDictionary(dir);
    expect(loaded.cfg.dataset_average_activation_norm).toBeNull();
    expect(Array.from(loaded.params.log_jumprelu_threshold!.data)).toEqual(Array.from(p.log_jumprelu_threshold!.data));
  });

  it('needs a BatchTopK threshold, which lm-saes does not store', () => {
    const cfg = buildSaeConfig();
    const p = randomParams(cfg, 4);
    const { 'activation_function.log_jumprelu_threshold': _, ...tensors } = lmSaesTensors(
      buildSaeConfig({ act_fn: 'jumprelu' }),
      p,
      new Float32Array(24),
    );
    const dir = writeLmSaesDir(
      { ...LM_SAES_DUMP, act_fn: 'batchtopk', top_k: 4, norm_activation: 'inference' },
      tensors,
    );
    expect(() => loadLmSaesDictionary(dir)).toThrow('no BatchTopK inference threshold');
    expect(
      Array.from(loadLmSaesDictionary(dir, { batchtopkThreshold: 0.25 }).params.batchtopk_threshold!.data),
    ).toEqual([0.25]);
  });
});

describe('lm-saes bad input', () => {
  function savedDir(cfg = buildSaeConfig()): string {
    const dir = fresh();
    saveLmSaesDictionary(dir, cfg, randomParams(cfg, 1));
    return dir;
  }
  function editConfig(dir: string, edit: (json: Record<string, unknown>) => void): void {
    const file = join(dir, 'config.json');
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(json);
    writeFileSync(file, JSON.stringify(json));
  }
  function replaceWeights(dir: string, edit: (t: Record<string, TensorToWrite>) => void): void {
    const file = join(dir, 'sae_weights.safetensors');
    const t: Record<string, TensorToWrite> = readTensorsWithShapes(file);
    edit(t);
    writeSafetensors(file, t);
  }

  it('names a missing directory, config.json or weights file', () => {
    expect(() => loadLmSaesDictionary(join(tmp.dir, 'nope'))).toThrow('no such dictionary directory');
    const dir = savedDir();
    rmSync(join(dir, 'sae_weights.safetensors'));
    expect(() => loadLmSaesDictionary(dir)).toThrow(`${join(dir, 'sae_weights.safetensors')}: missing`);
    rmSync(join(dir, 'config.json'));
    expect(() => loadLmSaesDictionary(dir)).toThrow(`${join(dir, 'config.json')}: missing`);
  });

  it('names the file of corrupt JSON', () => {
    const dir = savedDir();
    writeFileSync(join(dir, 'config.json'), '{"d_model": 8,');
    expect(() => loadLmSaesDictionary(dir)).toThrow(`${join(dir, 'config.json')}: invalid JSON`);
  });

  it.each([
    ['an unknown act_fn', (j: Record<string, unknown>) => (j.act_fn = 'gelu'), "field 'act_fn'"],
    [
      'an unknown field',
      (j: Record<string, unknown>) => (j.l1_coefficient_typo = 1),
      "unknown field 'l1_coefficient_typo'",
    ],
    ['a GLU encoder', (j: Record<string, unknown>) => (j.use_glu_encoder = true), "field 'use_glu_encoder'"],
    [
      'a crosscoder',
      (j: Record<string, unknown>) => (j.sae_type = 'crosscoder'),
      "field 'sae_type': 'crosscoder' is not supported",
    ],
    ['a bad d_model', (j: Record<string, unknown>) => (j.d_model = -8), "field 'd_model'"],
  ])('rejects %s, naming the field', (_, edit, message) => {
    const dir = savedDir();
    editConfig(dir, edit);
    expect(() => loadLmSaesDictionary(dir)).toThrow(message);
  });

  it('names a wrong-shaped, missing or unexpected tensor with the expected shape', () => {
    const dir = savedDir();
    const weights = join(dir, 'sae_weights.safetensors');
    replaceWeights(dir, (t) => (t.W_E = { dtype: 'F32', shape: [24, 8], data: new Float32Array(192) }));
    expect(() => loadLmSaesDictionary(dir)).toThrow(`${weights}: tensor 'W_E' has shape [24, 8], expected [8, 24]`);
    replaceWeights(dir, (t) => delete t.W_E);
    expect(() => loadLmSaesDictionary(dir)).toThrow(`${weights}: missing tensor 'W_E' (expected shape [8, 24])`);
    replaceWeights(dir, (t) => {
      t.W_E = { dtype: 'F32', shape: [8, 24], data: new Float32Array(192) };
      t.encoder_glu = { dtype: 'F32', shape: [2], data: new Float32Array(2) };
    });
    expect(() => loadLmSaesDictionary(dir)).toThrow(`${weights}: unexpected tensor 'encoder_glu'`);
  });

  it('needs the norms of a dataset-wise dictionary', () => {
    const dir = savedDir(
      buildSaeConfig({ norm_activation: 'dataset-wise', dataset_average_activation_norm: { [HOOK]: 3 } }),
    );
    replaceWeights(dir, (t) => delete t[`dataset_average_activation_norm.${HOOK}`]);
    expect(() => loadLmSaesDictionary(dir)).toThrow(`tensor 'dataset_average_activation_norm.${HOOK}' is missing`);
  });
});

describe('lm-saes atomic save', () => {
  it('a tensor with a wrong shape fails before anything is created', () => {
    const cfg = buildSaeConfig();
    const params = randomParams(cfg, 1);
    params.b_E = { data: new Float32Array(5), shape: [5] };
    const dir = fresh();
    expect(() => saveLmSaesDictionary(dir, cfg, params)).toThrow("tensor 'b_E' has shape [5], expected [24]");
    expect(existsSync(dir)).toBe(false);
    expect(tmp.entries().filter((e) => e.startsWith('.'))).toEqual([]);
  });

  it('an unwritable parent fails without leaving a target or a temporary directory', () => {
    const parentFile = join(tmp.dir, 'not-a-dir');
    writeFileSync(parentFile, '');
    const cfg = buildSaeConfig();
    expect(() => saveLmSaesDictionary(join(parentFile, 'dict'), cfg, randomParams(cfg, 1))).toThrow(
      'is not a directory',
    );
    expect(tmp.entries().filter((e) => e.startsWith('.'))).toEqual([]);
  });

  it('an extra tensor is refused and an existing dictionary survives the failed overwrite', () => {
    const cfg = buildSaeConfig();
    const dir = fresh();
    saveLmSaesDictionary(dir, cfg, randomParams(cfg, 1));
    expect(() =>
      saveLmSaesDictionary(dir, cfg, { ...randomParams(cfg, 2), extra: { data: new Float32Array(1), shape: [1] } }),
    ).toThrow("unexpected tensor 'extra'");
    expect(Array.from(loadLmSaesDictionary(dir).params.W_E!.data)).toEqual(Array.from(randomParams(cfg, 1).W_E!.data));
  });
});
