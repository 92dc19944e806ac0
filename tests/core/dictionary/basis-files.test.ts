// The activation basis a saved dictionary records, read back when it is loaded: SAE Studio's config.json field
// first, else lm-saes's lm_config.json backend (with lm-saes's 'auto' rule), else SAELens's cfg.json
// model_from_pretrained_kwargs; with nothing, 'unprocessed' marked as assumed (basisSource 'default'). Saving
// records the basis in config.json, lm_config.json's backend and SAELens's model_from_pretrained_kwargs.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/core/config/validate';
import { kindOf, loadAnyDictionary, saveAnyDictionary } from '../../../src/core/dictionary/registry';
import { chooseBasis } from '../../../src/core/lm/activation-basis';
import { exportSaeLens, importSaeLens } from '../../../src/core/sae/formats/saelens';
import type { ActivationBasis } from '../../../src/protocol/kind-configs/common';
import type { SaeConfig } from '../../../src/protocol/dictionary-config';

const d = 8;
const CONFIGS: Record<string, Record<string, unknown>> = {
  sae: {
    sae_type: 'sae',
    hook_point_in: 'blocks.1.hook_resid_post',
    hook_point_out: 'blocks.1.hook_resid_post',
    d_model: d,
    d_sae: 16,
    norm_activation: 'inference',
  },
  crosscoder: {
    sae_type: 'crosscoder',
    hook_points: ['blocks.0.hook_resid_post', 'blocks.1.hook_resid_post'],
    d_model: d,
    d_sae: 12,
    norm_activation: 'inference',
  },
};

/** A saved dictionary of `saeType` in `basis`, with config.json edited by `edit` and lm_config.json `lm`. */
function saved(
  saeType: string,
  basis: ActivationBasis,
  opts: { lm?: Record<string, unknown>; dropField?: boolean } = {},
): string {
  const kind = kindOf(saeType);
  const cfg = parseConfig(kind.schema, { ...CONFIGS[saeType], activation_basis: basis }, saeType);
  const dir = join(mkdtempSync(join(tmpdir(), 'sae-studio-basis-')), 'dict');
  saveAnyDictionary(dir, kind, cfg, kind.init(cfg, 3), opts.lm ? { lmConfig: opts.lm } : {});
  if (opts.dropField) {
    const path = join(dir, 'config.json');
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    delete raw.activation_basis;
    writeFileSync(path, JSON.stringify(raw));
  }
  return dir;
}

function setLmConfig(dir: string, lm: Record<string, unknown>): void {
  writeFileSync(join(dir, 'lm_config.json'), JSON.stringify(lm));
}

for (const saeType of Object.keys(CONFIGS)) {
  describe(`the recorded basis of an lm-saes ${saeType} directory`, () => {
    it('saving records the basis in config.json and lm_config.json backend; loading reads it back', () => {
      for (const basis of ['transformer-lens', 'unprocessed'] as const) {
        const dir = saved(saeType, basis, { lm: { model_name: 'pdlm-4l-256', backend: 'auto' } });
        const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
        expect(raw.activation_basis).toBe(basis);
        const lm = JSON.parse(readFileSync(join(dir, 'lm_config.json'), 'utf8')) as Record<string, unknown>;
        expect(lm.backend).toBe(basis === 'transformer-lens' ? 'transformer_lens' : 'huggingface');
        expect(lm.model_name).toBe('pdlm-4l-256');
        const loaded = loadAnyDictionary(dir);
        expect([loaded.cfg.activation_basis, loaded.basisSource]).toEqual([basis, 'config']);
      }
    });

    it("lm_config.json's backend decides when config.json has no activation_basis", () => {
      const cases: [Record<string, unknown>, ActivationBasis][] = [
        [{ model_name: 'gpt2', backend: 'transformer_lens' }, 'transformer-lens'],
        [{ model_name: 'gpt2', backend: 'huggingface' }, 'unprocessed'],
        [{ model_name: 'gpt2', backend: 'auto' }, 'transformer-lens'],
        [{ model_name: 'Qwen/Qwen2.5-7B' }, 'unprocessed'], // backend defaults to auto
        [{ model_name: 'meta-llama/Llama-3.1-8B' }, 'transformer-lens'],
      ];
      const dir = saved(saeType, 'unprocessed', { dropField: true });
      for (const [lm, want] of cases) {
        setLmConfig(dir, lm);
        const loaded = loadAnyDictionary(dir);
        expect([loaded.cfg.activation_basis, loaded.basisSource], JSON.stringify(lm)).toEqual([want, 'lm_config']);
      }
    });

    it('config.json wins over lm_config.json; nothing recorded (or tokenizer_only) is the assumed default', () => {
      const dir = saved(saeType, 'unprocessed');
      setLmConfig(dir, { model_name: 'gpt2', backend: 'transformer_lens' });
      expect(loadAnyDictionary(dir).cfg.activation_basis).toBe('unprocessed');
      const bare = saved(saeType, 'transformer-lens', { dropField: true });
      const none = loadAnyDictionary(bare);
      expect([none.cfg.activation_basis, none.basisSource]).toEqual(['unprocessed', 'default']);
      setLmConfig(bare, { model_name: 'gpt2', backend: 'tokenizer_only' });
      expect(loadAnyDictionary(bare).basisSource).toBe('default');
      setLmConfig(bare, { model_name: 'gpt2', backend: 'vllm' });
      expect(() => loadAnyDictionary(bare)).toThrow(/lm_config\.json: field 'backend': .*\(got "vllm"\)$/);
    });
  });
}

describe('the recorded basis of a SAELens directory', () => {
  const saeCfg = (basis: ActivationBasis) =>
    parseConfig(kindOf('sae').schema, { ...CONFIGS.sae, activation_basis: basis }, 'sae') as unknown as SaeConfig;
  const exported = (basis: ActivationBasis): string => {
    const cfg = saeCfg(basis);
    const dir = join(mkdtempSync(join(tmpdir(), 'sae-studio-saelens-basis-')), 'sae');
    exportSaeLens(dir, cfg, kindOf('sae').init(cfg as never, 4));
    return dir;
  };
  const editCfg = (dir: string, edit: (c: Record<string, unknown>) => void): void => {
    const path = join(dir, 'cfg.json');
    const c = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    edit(c);
    writeFileSync(path, JSON.stringify(c));
  };
  const meta = (c: Record<string, unknown>) => c.metadata as Record<string, unknown>;

  it('export writes model_from_pretrained_kwargs for the basis, and import reads it back', () => {
    const tl = exported('transformer-lens');
    const cfg = JSON.parse(readFileSync(join(tl, 'cfg.json'), 'utf8')) as Record<string, unknown>;
    expect(meta(cfg).model_from_pretrained_kwargs).toEqual({
      fold_ln: true,
      center_writing_weights: true,
      fold_value_biases: true,
      center_unembed: true,
    });
    expect(importSaeLens(tl).cfg.activation_basis).toBe('transformer-lens');
    expect(importSaeLens(tl).basisSource).toBe('saelens');
    const un = importSaeLens(exported('unprocessed'));
    expect([un.cfg.activation_basis, un.basisSource]).toEqual(['unprocessed', 'saelens']);
  });

  it('reads the processing kwargs per hook; without kwargs or model class the basis is unknown', () => {
    const dir = exported('unprocessed');
    editCfg(dir, (c) => (meta(c).model_from_pretrained_kwargs = { center_writing_weights: true }));
    expect(importSaeLens(dir).cfg.activation_basis).toBe('transformer-lens'); // resid hook: only centring matters
    editCfg(dir, (c) => (meta(c).model_from_pretrained_kwargs = {}));
    expect([importSaeLens(dir).cfg.activation_basis, importSaeLens(dir).basisSource]).toEqual([
      'unprocessed',
      'saelens',
    ]);
    editCfg(dir, (c) => {
      delete meta(c).model_from_pretrained_kwargs;
      delete meta(c).model_class_name;
    });
    const stored = loadAnyDictionary(dir);
    expect([stored.cfg.activation_basis, stored.basisSource]).toEqual(['unprocessed', 'default']);
    editCfg(dir, (c) => (c.model_from_pretrained_kwargs = { fold_ln: true, center_writing_weights: true }));
    expect(loadAnyDictionary(dir).cfg.activation_basis).toBe('transformer-lens'); // pre-6 top-level kwargs
    editCfg(dir, (c) => {
      delete c.model_from_pretrained_kwargs;
      meta(c).model_class_name = 'HookedMamba';
    });
    expect(() => importSaeLens(dir)).toThrow(/cfg\.json: field 'model_class_name'/);
  });
});

describe('chooseBasis', () => {
  const dict = (basis: ActivationBasis, source: 'config' | 'lm_config' | 'saelens' | 'default') => ({
    dir: '/d',
    cfg: { activation_basis: basis },
    basisSource: source,
  });

  it('takes what the files record; a contradicting request is a one-line error naming the source', () => {
    expect(chooseBasis(dict('transformer-lens', 'lm_config'), undefined)).toEqual({
      basis: 'transformer-lens',
      notice: null,
    });
    expect(chooseBasis(dict('transformer-lens', 'config'), 'transformer-lens').basis).toBe('transformer-lens');
    expect(() => chooseBasis(dict('transformer-lens', 'lm_config'), 'unprocessed')).toThrow(
      /^--basis unprocessed contradicts \/d: lm_config\.json's backend says .*'transformer-lens' basis$/,
    );
  });

  it('takes the request when the files say nothing, else assumes unprocessed with a notice', () => {
    expect(chooseBasis(dict('unprocessed', 'default'), 'transformer-lens')).toEqual({
      basis: 'transformer-lens',
      notice: null,
    });
    const r = chooseBasis(dict('unprocessed', 'default'), undefined);
    expect(r.basis).toBe('unprocessed');
    expect(r.notice).toMatch(/^\/d: .*does not record its activation basis; assuming 'unprocessed' .*--basis/);
  });
});
