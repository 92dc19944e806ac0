// config.json in both layouts: transformers 5 (rope_parameters, dtype, layer_types) as in the fixtures, and
// transformers 4 (rope_theta / rope_scaling at top level, torch_dtype, GPT-NeoX rotary_pct / rotary_emb_base)
// as most hub checkpoints are saved; plus Llama-3.1 rope scaling and errors for broken configs.
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inverseFrequencies } from '../../../src/core/lm/components/rotary';
import { readModelConfig } from '../../../src/core/lm/load-model';
import { ALL_ARCHITECTURES, archFixture } from '../../helpers/fixtures';

type Json = Record<string, unknown>;

/** Rewrites a transformers-5 config into the layout transformers 4 wrote. */
function toTransformers4(cfg: Json): Json {
  const out: Json = { ...cfg };
  const rope = out.rope_parameters as Json | undefined;
  delete out.rope_parameters;
  if (out.dtype) {
    out.torch_dtype = out.dtype;
    delete out.dtype;
  }
  if (rope) {
    if (cfg.model_type === 'gpt_neox') {
      out.rotary_emb_base = rope.rope_theta;
      out.rotary_pct = rope.partial_rotary_factor;
    } else {
      out.rope_theta = rope.rope_theta;
      out.rope_scaling = null;
    }
  }
  delete out.layer_types; // transformers 4 derived Gemma 2's sliding layers from the layer index
  return out;
}

function writeModelDir(cfg: Json, weightsFrom?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sae-studio-cfg-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  if (weightsFrom) symlinkSync(join(weightsFrom, 'model.safetensors'), join(dir, 'model.safetensors'));
  return dir;
}

const readJson = (dir: string): Json => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Json;

describe('config.json layouts', () => {
  for (const arch of ALL_ARCHITECTURES) {
    it(`${arch}: the transformers-4 layout parses to the same model config`, () => {
      const v5 = readModelConfig(archFixture(arch));
      const v4 = readModelConfig(writeModelDir(toTransformers4(readJson(archFixture(arch)))));
      expect(v4).toEqual(v5);
    });
  }

  it('reads the parts that differ between architectures', () => {
    const neox = readModelConfig(archFixture('gpt_neox'));
    expect(neox.rotary).toEqual({ dim: 4, theta: 10000, scaling: { type: 'default' } });
    expect(neox.parallelResidual).toBe(true);
    const gemma = readModelConfig(archFixture('gemma2'));
    expect(gemma.slidingWindows).toEqual([8, null]);
    expect([gemma.attnSoftcap, gemma.finalSoftcap, gemma.postNorms]).toEqual([50, 30, true]);
    expect(gemma.embedScale).toBeCloseTo(8, 6);
    const llama = readModelConfig(archFixture('llama'));
    expect([llama.nHeads, llama.nKvHeads, llama.tiedEmbeddings]).toEqual([4, 2, false]);
    const qwen3 = readModelConfig(archFixture('qwen3'));
    expect([qwen3.dHead, qwen3.qkNorm]).toEqual([32, true]);
  });

  it("reads Llama-3.1's llama3 rope_scaling (transformers 4 layout) and matches HF's frequencies", () => {
    const cfg = {
      ...toTransformers4(readJson(archFixture('llama'))),
      hidden_size: 256,
      num_attention_heads: 4,
      head_dim: 64,
      rope_theta: 500000.0,
      rope_scaling: {
        factor: 8.0,
        low_freq_factor: 1.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 8192,
        rope_type: 'llama3',
      },
    };
    const parsed = readModelConfig(writeModelDir(cfg));
    expect(parsed.rotary?.scaling).toEqual({
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    });
    const inv = inverseFrequencies(parsed.rotary!);
    // transformers' _compute_llama3_parameters in float32 (numpy), entries 0, 5, 10, 12..16, 20, 31
    const expected = [
      1.0, 0.12868738174438477, 0.016560440883040428, 0.00729266507551074, 0.00483942124992609, 0.0032114461064338684,
      0.0013718936825171113, 0.0005248460220173001, 3.428102354519069e-5, 3.767322880321444e-7,
    ];
    [0, 5, 10, 12, 13, 14, 15, 16, 20, 31].forEach((i, j) => expect(inv[i]! / expected[j]!).toBeCloseTo(1, 6));
  });

  it('reads the same llama3 scaling from transformers-5 rope_parameters', () => {
    const cfg = {
      ...readJson(archFixture('llama')),
      rope_parameters: {
        rope_type: 'llama3',
        rope_theta: 500000,
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    };
    expect(readModelConfig(writeModelDir(cfg)).rotary?.scaling.type).toBe('llama3');
  });

  it('rejects what it cannot run, naming the file and field', () => {
    const base = readJson(archFixture('llama'));
    const cases: [Json, RegExp][] = [
      [
        { ...base, model_type: 'mamba' },
        /config\.json: model_type 'mamba' is not supported, expected one of gpt2, llama/,
      ],
      [{ ...base, hidden_size: '64' }, /config\.json: field 'hidden_size' is "64", expected a positive integer/],
      [{ ...base, num_hidden_layers: undefined }, /field 'num_hidden_layers' is missing, expected a positive integer/],
      [
        { ...base, rope_parameters: { rope_type: 'yarn', rope_theta: 1e4, factor: 4 } },
        /rope_parameters\.rope_type 'yarn' is not supported/,
      ],
      [{ ...base, num_key_value_heads: 3 }, /num_attention_heads 4 is not a multiple of num_key_value_heads 3/],
      [{ ...base, hidden_act: 'swiglu2' }, /field 'hidden_act' is "swiglu2", expected one of/],
    ];
    for (const [cfg, message] of cases) {
      expect(() => readModelConfig(writeModelDir(cfg))).toThrow(message);
    }
  });
});
