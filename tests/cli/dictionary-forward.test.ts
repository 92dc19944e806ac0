// `sae-studio dictionary forward` for every dictionary kind: random weights saved in lm-saes's exact layout, run by
// the CLI (the kind's tensor path, in a child process) on pdlm-4l-256's own activations, against the kind's float64
// reference on the same activations (normalised here in float64), to 1e-5 relative.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { hookScales } from '../../src/core/dictionary/apply';
import type { DictionaryKind, KindConfigBase } from '../../src/core/dictionary/kind';
import { uniformGenerator } from '../../src/core/dictionary/host64';
import {
  DICTIONARY_KIND_NAMES,
  kindOf,
  loadAnyDictionary,
  saveAnyDictionary,
} from '../../src/core/dictionary/registry';
import { loadModel } from '../../src/core/lm/load-model';
import { parseConfig } from '../../src/core/config/validate';
import type { HostParams } from '../../src/core/sae/host-tensor';
import { initBackend } from '../../src/core/tensor/backend';
import { openSafetensors, writeSafetensors } from '../../src/core/tensor/safetensors';
import { runCli } from '../helpers/cli';
import { expectClose } from '../helpers/expect-close';

const B = 2;
const S = 12;
const d = 256;

/** One small dictionary per kind, on pdlm-4l-256's hooks. */
const CASES: Record<string, { label: string; config: Record<string, unknown> }[]> = {
  sae: [
    {
      label: 'transcoder, topk',
      config: {
        sae_type: 'sae',
        hook_point_in: 'blocks.1.ln2.hook_normalized',
        hook_point_out: 'blocks.1.hook_mlp_out',
        d_model: d,
        d_sae: 64,
        act_fn: 'topk',
        top_k: 8,
      },
    },
  ],
  crosscoder: [
    {
      label: 'three layers of the residual stream, topk',
      config: {
        sae_type: 'crosscoder',
        hook_points: ['blocks.1.hook_resid_post', 'blocks.2.hook_resid_post', 'blocks.3.hook_resid_post'],
        d_model: d,
        d_sae: 48,
        act_fn: 'topk',
        top_k: 6,
      },
    },
    {
      label: 'two hooks, relu',
      config: {
        sae_type: 'crosscoder',
        hook_points: ['blocks.0.hook_mlp_out', 'blocks.2.hook_attn_out'],
        d_model: d,
        d_sae: 40,
        act_fn: 'relu',
      },
    },
  ],
  clt: [
    {
      label: 'four MLP layers, topk per layer',
      config: {
        sae_type: 'clt',
        hook_points_in: [0, 1, 2, 3].map((l) => `blocks.${l}.ln2.hook_normalized`),
        hook_points_out: [0, 1, 2, 3].map((l) => `blocks.${l}.hook_mlp_out`),
        d_model: d,
        d_sae: 32,
        act_fn: 'topk',
        top_k: 4,
      },
    },
    {
      label: 'two layers, jumprelu',
      config: {
        sae_type: 'clt',
        hook_points_in: ['blocks.1.hook_resid_mid', 'blocks.2.hook_resid_mid'],
        hook_points_out: ['blocks.1.hook_mlp_out', 'blocks.2.hook_mlp_out'],
        d_model: d,
        d_sae: 24,
        act_fn: 'jumprelu',
      },
    },
  ],
  lorsa: [
    {
      label: 'layer 2 attention, 4 QK heads, topk',
      config: {
        sae_type: 'lorsa',
        hook_point_in: 'blocks.2.ln1.hook_normalized',
        hook_point_out: 'blocks.2.hook_attn_out',
        d_model: d,
        d_sae: 64,
        n_qk_heads: 4,
        d_qk_head: 16,
        n_ctx: 256,
        positional_embedding_type: 'none',
        rotary_dim: 16,
        act_fn: 'topk',
        top_k: 8,
      },
    },
    {
      label: 'no positional rotation, relu',
      config: {
        sae_type: 'lorsa',
        hook_point_in: 'blocks.1.ln1.hook_normalized',
        hook_point_out: 'blocks.1.hook_attn_out',
        d_model: d,
        d_sae: 32,
        n_qk_heads: 2,
        d_qk_head: 8,
        n_ctx: 64,
        positional_embedding_type: 'none',
        rotary_dim: 8,
        act_fn: 'relu',
      },
    },
  ],
  molt: [
    {
      label: 'MLP transcoder of ranks 1, 2 and 4, topk',
      config: {
        sae_type: 'molt',
        hook_point_in: 'blocks.2.ln2.hook_normalized',
        hook_point_out: 'blocks.2.hook_mlp_out',
        d_model: d,
        rank_counts: { '1': 16, '2': 8, '4': 4 },
        act_fn: 'topk',
        top_k: 5,
      },
    },
  ],
};

function randomised(kind: DictionaryKind, cfg: KindConfigBase, seed: number): HostParams {
  const params = kind.init(cfg, seed);
  const u = uniformGenerator(seed + 7);
  const trainable = new Set(kind.trainable(cfg));
  for (const [name, t] of Object.entries(params)) {
    if (!trainable.has(name)) continue;
    if (name.includes('log_jumprelu_threshold')) t.data = t.data.map(() => Math.log(0.05 + Math.abs(u(0.1))));
    else if (t.data.every((v) => v === 0)) t.data = t.data.map(() => u(0.05));
  }
  return params;
}

let ids: number[][];
const acts: Record<string, Float32Array> = {};

beforeAll(async () => {
  await initBackend('cpu');
  const { model } = loadModel('pdlm-4l-256');
  const u = uniformGenerator(11);
  ids = Array.from({ length: B }, () => Array.from({ length: S }, () => Math.floor(Math.abs(u(1)) * model.cfg.dVocab)));
  const hooks = model.hookNames.filter((h) => /^blocks\.\d\.(hook_|ln\d\.hook_normalized)/.test(h));
  const out = model.forward(ids, { cache: hooks, logits: false });
  for (const h of hooks) acts[h] = (await out.cache[h]!.data()) as Float32Array;
  tf.dispose(Object.values(out.cache));
  model.dispose();
});

describe('dictionary forward: every kind has cases', () => {
  it('covers each registered kind', () => {
    expect(Object.keys(CASES).sort()).toEqual([...DICTIONARY_KIND_NAMES].sort());
  });
});

for (const [saeType, cases] of Object.entries(CASES)) {
  describe(`sae-studio dictionary forward: ${saeType}`, () => {
    for (const c of cases) {
      it(`${c.label}: matches the float64 reference to 1e-5`, () => {
        const kind = kindOf(saeType);
        const rows = B * S;
        const provisional = parseConfig(kind.schema, c.config, c.label);
        const hooks = [...new Set([...kind.hooksIn(provisional), ...kind.hooksOut(provisional)])];
        // Dataset-wise norms that differ per hook.
        const norms = Object.fromEntries(hooks.map((h, i) => [h, 3 + 2.5 * i]));
        const cfg = parseConfig(kind.schema, { ...c.config, dataset_average_activation_norm: norms }, c.label);
        const params = randomised(kind, cfg, 5);
        const dir = join(mkdtempSync(join(tmpdir(), 'sae-studio-dictfwd-')), 'dict');
        saveAnyDictionary(dir, kind, cfg, params);
        const loaded = loadAnyDictionary(dir);
        expect(loaded.kind.saeType).toBe(saeType);
        // Round trip: every parameter comes back bit for bit, and the config with it.
        for (const name of kind.trainable(cfg)) expect(loaded.params[name]!.data, name).toEqual(params[name]!.data);
        expect(loaded.cfg).toEqual(cfg);
        const idsFile = join(dir, '..', 'ids.json');
        writeFileSync(idsFile, JSON.stringify(ids));
        const out = join(dir, '..', 'out.safetensors');
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
        ]);
        expect(
          r.stderr
            .split('\n')
            .filter((l) => l && !l.startsWith('Warning'))
            .join('\n'),
        ).toBe('');
        expect(r.status).toBe(0);

        // The reference on the same activations, normalised in float64.
        const hooksIn = kind.hooksIn(cfg);
        const hooksOut = kind.hooksOut(cfg);
        const x = new Float64Array(rows * hooksIn.length * d);
        hooksIn.forEach((h, j) => {
          const s = hookScales(cfg, h, acts[h]!, rows, d);
          for (let t = 0; t < rows; t++)
            for (let k = 0; k < d; k++) x[(t * hooksIn.length + j) * d + k] = acts[h]![t * d + k]! * s[t]!;
        });
        const ref = kind.reference(cfg, loaded.params, { x, B, S });
        const recon = Float64Array.from(ref.recon);
        hooksOut.forEach((h, j) => {
          const s = hookScales(cfg, h, acts[h]!, rows, d);
          for (let t = 0; t < rows; t++) for (let k = 0; k < d; k++) recon[(t * hooksOut.length + j) * d + k]! /= s[t]!;
        });
        const file = openSafetensors(out);
        const A = kind.featureAxes(cfg);
        expect(file.info('feature_acts').shape).toEqual(A === 1 ? [B, S, cfg.d_sae] : [B, S, A, cfg.d_sae]);
        expect(file.info('reconstruction').shape).toEqual(
          hooksOut.length === 1 ? [B, S, d] : [B, S, hooksOut.length, d],
        );
        expectClose(file.readFloat32('feature_acts'), ref.featureActs, { rtol: 1e-5, label: 'feature_acts' });
        expectClose(file.readFloat32('reconstruction'), recon, { rtol: 1e-5, label: 'reconstruction' });
        expect(ref.featureActs.some((v) => v > 0)).toBe(true);
        file.close();
      });
    }
  });
}

describe('sae-studio dictionary forward: bad dictionary files', () => {
  it('a CLT file missing one W_D.{t}: one line naming the tensor, exit 2', () => {
    const kind = kindOf('clt');
    const c = CASES.clt![0]!;
    const cfg = parseConfig(kind.schema, { ...c.config, norm_activation: 'inference' }, c.label);
    const dir = join(mkdtempSync(join(tmpdir(), 'sae-studio-dictfwd-')), 'dict');
    saveAnyDictionary(dir, kind, cfg, randomised(kind, cfg, 2));
    const file = join(dir, 'sae_weights.safetensors');
    const f = openSafetensors(file);
    const kept = Object.fromEntries(
      f
        .names()
        .filter((n) => n !== 'W_D.2')
        .map((n) => [n, { dtype: 'F32' as const, shape: f.info(n).shape, data: f.readFloat32(n) }]),
    );
    f.close();
    writeSafetensors(file, kept);
    const idsFile = join(dir, '..', 'ids.json');
    writeFileSync(idsFile, JSON.stringify(ids));
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
      join(dir, '..', 'o.safetensors'),
    ]);
    expect(r.status).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/missing tensor 'W_D\.2' \(expected shape \[3, 32, 256\]\)/);
  });
});
