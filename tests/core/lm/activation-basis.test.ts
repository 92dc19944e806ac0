// Reading the activation basis from lm-saes's lm_config.json and SAELens's cfg.json.
import { describe, expect, it } from 'vitest';
import { basisFromLmSaesConfig, basisFromSaeLensConfig } from '../../../src/core/lm/activation-basis';

describe('basisFromLmSaesConfig', () => {
  it('maps the explicit backends', () => {
    expect(basisFromLmSaesConfig({ model_name: 'gpt2', backend: 'transformer_lens' })).toBe('transformer-lens');
    expect(basisFromLmSaesConfig({ model_name: 'gpt2', backend: 'huggingface' })).toBe('unprocessed');
    expect(basisFromLmSaesConfig({ model_name: 'gpt2', backend: 'tokenizer_only' })).toBeNull();
  });

  it('resolves "auto" (and a missing backend) from the model name as lm-saes does', () => {
    expect(basisFromLmSaesConfig({ model_name: 'meta-llama/Llama-3.1-8B', backend: 'auto' })).toBe('transformer-lens');
    expect(basisFromLmSaesConfig({ model_name: 'Qwen/Qwen2.5-7B', backend: 'auto' })).toBe('unprocessed');
    expect(basisFromLmSaesConfig({ model_name: 'Qwen/Qwen2.5-VL-7B-Instruct' })).toBe('unprocessed');
    expect(basisFromLmSaesConfig({ model_name: 'Qwen/Qwen3-8B', d_model: 4096 })).toBe('transformer-lens');
    expect(basisFromLmSaesConfig({})).toBe('transformer-lens'); // model_name defaults to gpt2
  });

  it('rejects an unknown backend in one line naming the file, field and value', () => {
    expect(() => basisFromLmSaesConfig({ backend: 'vllm' }, 'run/lm_config.json')).toThrow(
      /^run\/lm_config\.json: field 'backend': .*\(got "vllm"\)$/,
    );
    expect(() => basisFromLmSaesConfig([], 'x/lm_config.json')).toThrow(/^x\/lm_config\.json: /);
  });
});

describe('basisFromSaeLensConfig', () => {
  const all = { fold_ln: true, center_writing_weights: true, fold_value_biases: true, center_unembed: true };

  it('reads from_pretrained_no_processing defaults: no flags means unprocessed', () => {
    expect(basisFromSaeLensConfig({ model_name: 'gemma-2-2b', hook_name: 'blocks.5.hook_resid_post' })).toBe(
      'unprocessed',
    );
    expect(basisFromSaeLensConfig({ model_from_pretrained_kwargs: null })).toBe('unprocessed');
    expect(basisFromSaeLensConfig({ model_from_pretrained_kwargs: { n_devices: 1 } })).toBe('unprocessed');
  });

  it('gives the transformer-lens basis when every processing flag is on, at top level or under metadata', () => {
    expect(basisFromSaeLensConfig({ model_from_pretrained_kwargs: all })).toBe('transformer-lens');
    expect(
      basisFromSaeLensConfig({
        metadata: { hook_name: 'blocks.3.ln2.hook_normalized', model_from_pretrained_kwargs: all },
      }),
    ).toBe('transformer-lens');
  });

  it('decides mixed flags by the ones that matter at the hook (gpt2-small-res-jb passes center_writing_weights)', () => {
    const jb = {
      hook_point: 'blocks.6.hook_resid_pre',
      model_from_pretrained_kwargs: { center_writing_weights: true },
    };
    expect(basisFromSaeLensConfig(jb)).toBe('transformer-lens');
    const ln = {
      hook_name: 'blocks.6.ln1.hook_normalized',
      model_from_pretrained_kwargs: { center_writing_weights: true },
    };
    expect(basisFromSaeLensConfig(ln)).toBe('unprocessed');
    const mlp = { hook_name: 'blocks.6.mlp.hook_post', model_from_pretrained_kwargs: { fold_ln: true } };
    expect(basisFromSaeLensConfig(mlp)).toBe('unprocessed');
    expect(() =>
      basisFromSaeLensConfig({ model_from_pretrained_kwargs: { center_writing_weights: true } }, 'sae/cfg.json'),
    ).toThrow(/^sae\/cfg\.json: field 'model_from_pretrained_kwargs' gives fold_ln=false, center_writing_weights=true/);
  });

  it('maps the model class: Hugging Face models are unprocessed, others unknown', () => {
    expect(
      basisFromSaeLensConfig({ model_class_name: 'AutoModelForCausalLM', model_from_pretrained_kwargs: all }),
    ).toBe('unprocessed');
    expect(basisFromSaeLensConfig({ model_class_name: 'HookedMamba' })).toBeNull();
  });

  it('rejects a flag that is not a boolean in one line', () => {
    expect(() => basisFromSaeLensConfig({ model_from_pretrained_kwargs: { fold_ln: 'yes' } }, 'cfg.json')).toThrow(
      /^cfg\.json: field 'model_from_pretrained_kwargs\.fold_ln': .*\(got "yes"\)$/,
    );
  });
});
