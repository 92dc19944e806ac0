// `import DIR`: a dictionary folder trained elsewhere — lm-saes (every kind) or SAELens — registered in a fresh
// store with its weights unchanged, and the bad folders refused in one line naming the folder, file or tensor.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAnyDictionary } from '../../../src/core/dictionary/registry';
import { studioHome } from '../../../src/core/home';
import { exportDictionaryToLmSaes, exportDictionaryToSaeLens } from '../../../src/core/interop/export-dictionary';
import { importDictionaryFolder } from '../../../src/core/interop/import-dictionary';
import { getDictionary, listDictionaries, openStore, saveAnalysis, type Store } from '../../../src/core/store';
import { syntheticAnalysis } from '../store/helpers';
import { allDictionaries, buildInteropHome } from './interop-home';

let source: string;
let target: string;
let sourceStore: Store;
let store: Store;
const folders = () => join(source, 'folders');
beforeAll(() => {
  source = buildInteropHome();
  target = buildInteropHome();
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target);
  sourceStore = openStore({ dir: source, readonly: true });
  store = openStore({ dir: target });
  mkdirSync(folders());
});
afterAll(() => {
  sourceStore.close();
  store.close();
  for (const d of [source, target]) rmSync(d, { recursive: true, force: true });
});

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('import of an lm-saes folder', () => {
  for (const d of allDictionaries()) {
    it(`${d.name} (${d.kind.saeType}): registered with its config, weights bit-identical`, () => {
      const dir = join(folders(), `lm-${d.name}`);
      exportDictionaryToLmSaes(sourceStore, d.name, dir);
      const r = importDictionaryFolder(store, studioHome(target), dir, { series: 'cluster' });
      expect(r.format).toBe('lm-saes');
      expect(r).toMatchObject({ analyses: 0, analysisPickles: [] });
      const row = getDictionary(store, `lm-${d.name}`);
      expect(row).toMatchObject({
        saeType: d.kind.saeType,
        dSae: d.cfg.d_sae,
        series: 'cluster',
        modelName: 'pdlm-4l-256',
      });
      expect(row.path).toBe(join(target, 'dictionaries', `lm-${d.name}`));
      const back = loadAnyDictionary(row.path);
      const original = loadAnyDictionary(dir);
      expect(back.cfg).toEqual(original.cfg);
      for (const [name, t] of Object.entries(original.params))
        expect(sameBits(back.params[name]!.data, t.data), name).toBe(true);
    });
  }
});

describe('import of a SAELens folder', () => {
  it('registers a SAELens TopK SAE under --name, in lm-saes layout in the home', () => {
    const dir = join(folders(), 'saelens-topk');
    exportDictionaryToSaeLens(sourceStore, 'topk-sae', dir);
    const r = importDictionaryFolder(store, studioHome(target), dir, { name: 'from-saelens' });
    expect(r.format).toBe('saelens');
    expect(r.dictionary).toMatchObject({ name: 'from-saelens', saeType: 'sae', dSae: 24, modelName: 'pdlm-4l-256' });
    const config = JSON.parse(readFileSync(join(r.dictionary.path, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ sae_type: 'sae', act_fn: 'topk', top_k: 4, d_sae: 24 });
    const back = loadAnyDictionary(r.dictionary.path);
    const original = loadAnyDictionary(dir);
    for (const name of ['W_E', 'b_E', 'W_D', 'b_D'])
      expect(sameBits(back.params[name]!.data, original.params[name]!.data), name).toBe(true);
  });

  it('refuses a name that exists unless --replace', () => {
    const dir = join(folders(), 'saelens-topk');
    expect(() => importDictionaryFolder(store, studioHome(target), dir, { name: 'from-saelens' })).toThrow(
      /^dictionary 'from-saelens' already exists in the store \(use --name/,
    );
    const before = listDictionaries(store).length;
    importDictionaryFolder(store, studioHome(target), dir, { name: 'from-saelens', replace: true });
    expect(listDictionaries(store).length).toBe(before);
  });
});

describe('analyses in the folder', () => {
  it("names lm-saes's analysis pickles instead of reading them", () => {
    const dir = join(folders(), 'lm-relu-sae');
    writeFileSync(join(dir, 'default_analysis_24_features.pkl'), Buffer.from([0x80, 0x04, 0x2e]));
    const r = importDictionaryFolder(store, studioHome(target), dir, { name: 'with-pickle' });
    expect(r).toMatchObject({ analyses: 0, analysisPickles: ['default_analysis_24_features.pkl'] });
  });
});

describe('import refusals', () => {
  const home = () => studioHome(target);
  it('a --name that would not be one folder', () => {
    expect(() => importDictionaryFolder(store, home(), join(folders(), 'saelens-topk'), { name: '../up' })).toThrow(
      /^dictionary name '\.\.\/up' is not /,
    );
  });

  it('a --replace that would change d_sae under existing analyses, before touching the folder', () => {
    saveAnalysis(store, syntheticAnalysis({ dictionaryName: 'from-saelens', dSae: 24 }));
    const path = getDictionary(store, 'from-saelens').path;
    // Same d_sae (24): replaced.
    importDictionaryFolder(store, home(), join(folders(), 'lm-relu-sae'), { name: 'from-saelens', replace: true });
    const before = readFileSync(join(path, 'sae_weights.safetensors'));
    expect(() =>
      importDictionaryFolder(store, home(), join(folders(), 'lm-tiny-molt'), { name: 'from-saelens', replace: true }),
    ).toThrow(/^dictionary 'from-saelens': d_sae changes from 24 to \d+ but it has analyses/);
    expect(readFileSync(join(path, 'sae_weights.safetensors')).equals(before)).toBe(true);
    expect(loadAnyDictionary(path).kind.saeType).toBe('sae');
  });

  it('a folder that is neither lm-saes nor SAELens', () => {
    const dir = join(folders(), 'neither');
    mkdirSync(dir);
    writeFileSync(join(dir, 'weights.bin'), 'x');
    expect(() => importDictionaryFolder(store, home(), dir)).toThrow(
      new RegExp(
        `^${dir}: neither an lm-saes dictionary folder \\(config.json \\+ sae_weights.safetensors\\) nor a SAELens one`,
      ),
    );
  });

  it('a missing weights file', () => {
    const dir = join(folders(), 'lm-relu-sae');
    rmSync(join(dir, 'sae_weights.safetensors'));
    expect(() => importDictionaryFolder(store, home(), dir, { name: 'no-weights' })).toThrow(
      /sae_weights\.safetensors: missing/,
    );
    const cfgOnly = join(folders(), 'saelens-cfg-only');
    mkdirSync(cfgOnly);
    writeFileSync(join(cfgOnly, 'cfg.json'), readFileSync(join(folders(), 'saelens-topk', 'cfg.json')));
    expect(() => importDictionaryFolder(store, home(), cfgOnly)).toThrow(
      /saelens-cfg-only\/sae_weights\.safetensors: missing$/,
    );
    expect(listDictionaries(store).map((d) => d.name)).not.toContain('no-weights');
  });

  it('weights whose shapes do not match the config, naming the tensor', () => {
    const dir = join(folders(), 'saelens-topk');
    const cfg = JSON.parse(readFileSync(join(dir, 'cfg.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ ...cfg, d_sae: 32 }));
    expect(() => importDictionaryFolder(store, home(), dir, { name: 'bad-shape' })).toThrow(
      /saelens-topk\/sae_weights\.safetensors: tensor '(W_enc|b_enc|W_dec)' has shape \[[\d, ]+\], expected \[[\d, ]+\]$/,
    );
    const clt = join(folders(), 'lm-tiny-clt');
    const config = JSON.parse(readFileSync(join(clt, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(clt, 'config.json'), JSON.stringify({ ...config, d_sae: 20, expansion_factor: 20 / 256 }));
    expect(() => importDictionaryFolder(store, home(), clt, { name: 'bad-clt' })).toThrow(
      /lm-tiny-clt\/sae_weights\.safetensors: tensor '\w+' has shape \[[\d, ]+\], expected \[[\d, ]+\]$/,
    );
    expect(listDictionaries(store).map((d) => d.name)).not.toContain('bad-shape');
  });
});
