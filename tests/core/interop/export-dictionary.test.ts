// Exports from the store without a server: each dictionary written as SAELens or lm-saes reads it, loaded back
// with our loaders (weights bit-identical, same forward), the files' field names checked against the reference
// field lists; and the stored graph written as the circuit-tracer / Neuronpedia graph JSON.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DictionaryKind, KindConfigBase } from '../../../src/core/dictionary/kind';
import { loadAnyDictionary } from '../../../src/core/dictionary/registry';
import { InputError } from '../../../src/core/errors';
import {
  exportDictionaryToLmSaes,
  exportDictionaryToSaeLens,
  exportGraphJson,
} from '../../../src/core/interop/export-dictionary';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import { getGraph, loadGraphJson, openStore, type Store } from '../../../src/core/store';
import { parseGraphJson } from '../../../src/protocol/circuits/graph-json-import';
import { expectClose } from '../../helpers/expect-close';
import { uniform } from '../sae/formats/helpers';
import { allDictionaries, buildInteropHome, GRAPH_NAME, saeDictionaries } from './interop-home';
import { SAELENS_CFG_FIELDS, SAELENS_METADATA_FIELDS, CIRCUIT_TRACER_GRAPH_FIELDS } from './reference-fields';

let root: string;
let store: Store;
beforeAll(() => {
  root = buildInteropHome();
  store = openStore({ dir: root, readonly: true });
  // Like lm-saes's and SAELens's savers, an export writes one folder and leaves its parent to the caller.
  for (const d of ['out-lm-saes', 'out-saelens', 'refused']) mkdirSync(join(root, d));
});
afterAll(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

function referenceForward(kind: DictionaryKind, cfg: KindConfigBase, params: HostParams): Float64Array[] {
  const nIn = kind.hooksIn(cfg).length;
  const [B, S] = [1, 4];
  const u = uniform(3);
  const x = Float64Array.from({ length: B * S * nIn * cfg.d_model }, () => u(-2, 2));
  const out = kind.reference(cfg, params, { x, B, S });
  return [out.featureActs, out.recon];
}

function expectSameBits(a: Float32Array, b: Float32Array, label: string): void {
  expect(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
    label,
  ).toBe(true);
}

describe('export --to lm-saes', () => {
  for (const d of allDictionaries()) {
    it(`${d.name} (${d.kind.saeType}): loads back with bit-identical weights and the same forward`, () => {
      const out = join(root, 'out-lm-saes', d.name);
      const r = exportDictionaryToLmSaes(store, d.name, out);
      expect(r.path).toBe(out);
      const back = loadAnyDictionary(out);
      const stored = loadAnyDictionary(join(root, 'dictionaries', d.name));
      expect(back.kind.saeType).toBe(d.kind.saeType);
      expect(back.cfg).toEqual(stored.cfg);
      expect(Object.keys(back.params).sort()).toEqual(Object.keys(stored.params).sort());
      for (const [name, t] of Object.entries(stored.params)) expectSameBits(back.params[name]!.data, t.data, name);
      const [acts, recon] = referenceForward(back.kind, back.cfg, back.params);
      const [acts0, recon0] = referenceForward(stored.kind, stored.cfg, stored.params);
      expect(Array.from(acts!)).toEqual(Array.from(acts0!));
      expect(Array.from(recon!)).toEqual(Array.from(recon0!));
      // lm-saes's from_pretrained reads config.json (sae_type picks the class) and lm_config.json's backend.
      const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
      expect(config.sae_type).toBe(d.kind.saeType);
      const lm = JSON.parse(readFileSync(join(out, 'lm_config.json'), 'utf8')) as Record<string, unknown>;
      expect(lm).toMatchObject({ model_name: 'pdlm-4l-256', backend: 'huggingface' });
    });
  }
});

describe('export --to saelens', () => {
  for (const d of saeDictionaries()) {
    it(`${d.name}: writes SAELens's cfg.json (${d.architecture}) and loads back with the same forward`, () => {
      const out = join(root, 'out-saelens', d.name);
      exportDictionaryToSaeLens(store, d.name, out);
      const cfg = JSON.parse(readFileSync(join(out, 'cfg.json'), 'utf8')) as Record<string, unknown>;
      expect(cfg.architecture).toBe(d.architecture);
      const allowed = new Set([...SAELENS_CFG_FIELDS.base, ...(SAELENS_CFG_FIELDS[d.architecture] ?? [])]);
      for (const key of Object.keys(cfg)) expect(allowed.has(key), `cfg.json field '${key}'`).toBe(true);
      for (const key of ['architecture', 'd_in', 'd_sae', 'dtype', 'apply_b_dec_to_input', 'normalize_activations'])
        expect(cfg, key).toHaveProperty(key);
      const meta = cfg.metadata as Record<string, unknown>;
      for (const key of Object.keys(meta)) expect(SAELENS_METADATA_FIELDS, `metadata.${key}`).toContain(key);
      const hook = (d.cfg as unknown as { hook_point_in: string }).hook_point_in;
      expect(meta).toMatchObject({
        model_name: 'pdlm-4l-256',
        hook_name: hook,
        hook_layer: Number(/^blocks\.(\d+)\./.exec(hook)![1]),
      });
      // Only relu-sae has a training run in the store: SAELens's context_size and dataset come from it.
      expect(meta.context_size).toBe(d.name === 'relu-sae' ? 64 : undefined);
      expect(meta.dataset_path).toBe(d.name === 'relu-sae' ? 'pdlm-corpus' : undefined);
      if (d.architecture === 'topk') expect(cfg.k).toBe(d.cfg.top_k);
      expect(existsSync(join(out, 'sae_weights.safetensors'))).toBe(true);

      const back = loadAnyDictionary(out);
      const stored = loadAnyDictionary(join(root, 'dictionaries', d.name));
      for (const name of ['W_E', 'b_E', 'W_D', 'b_D'])
        expectSameBits(back.params[name]!.data, stored.params[name]!.data, name);
      const [acts, recon] = referenceForward(back.kind, back.cfg, back.params);
      const [acts0, recon0] = referenceForward(stored.kind, stored.cfg, stored.params);
      // JumpReLU thresholds pass through exp and log (SAELens stores θ, lm-saes log θ): a rounding step.
      expectClose(acts!, acts0!, { rtol: 1e-6, label: `${d.name} feature acts` });
      expectClose(recon!, recon0!, { rtol: 1e-6, label: `${d.name} reconstruction` });
    });
  }

  for (const saeType of ['crosscoder', 'clt', 'lorsa', 'molt']) {
    it(`refuses a ${saeType} in one line naming the kind`, () => {
      const call = () => exportDictionaryToSaeLens(store, `tiny-${saeType}`, join(root, 'refused', saeType));
      expect(call).toThrow(InputError);
      expect(call).toThrow(
        new RegExp(`^dictionary 'tiny-${saeType}' is a ${saeType}: SAELens has no ${saeType}[^\\n]*$`),
      );
      expect(existsSync(join(root, 'refused', saeType))).toBe(false);
    });
  }

  it('names an unknown dictionary and lists the known ones', () => {
    expect(() => exportDictionaryToSaeLens(store, 'nope', join(root, 'nope'))).toThrow(
      /^unknown dictionary 'nope' \(known: /,
    );
  });
});

describe('export --to graph-json', () => {
  it("writes the stored graph JSON with circuit-tracer's fields, and it imports back equal", () => {
    const file = join(root, 'graph.json');
    const r = exportGraphJson(store, GRAPH_NAME, file);
    expect(r.what).toMatch(/30 nodes/);
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    for (const key of CIRCUIT_TRACER_GRAPH_FIELDS.top) expect(raw, key).toHaveProperty(key);
    for (const key of Object.keys(raw)) expect(CIRCUIT_TRACER_GRAPH_FIELDS.topAllowed, key).toContain(key);
    const nodes = raw.nodes as Record<string, unknown>[];
    for (const n of nodes) {
      for (const key of CIRCUIT_TRACER_GRAPH_FIELDS.nodeRequired)
        expect(n, `${String(n.node_id)}.${key}`).toHaveProperty(key);
      for (const key of Object.keys(n)) expect(CIRCUIT_TRACER_GRAPH_FIELDS.node, `node field '${key}'`).toContain(key);
    }
    for (const l of raw.links as Record<string, unknown>[])
      expect(Object.keys(l).sort()).toEqual(['source', 'target', 'weight']);
    const meta = raw.metadata as Record<string, unknown>;
    for (const key of CIRCUIT_TRACER_GRAPH_FIELDS.metadataRequired) expect(meta, `metadata.${key}`).toHaveProperty(key);
    expect(parseGraphJson(raw)).toEqual(loadGraphJson(store, GRAPH_NAME));
  });

  it('finds the graph by its uid too', () => {
    const uid = getGraph(store, GRAPH_NAME)!.uid;
    const file = join(root, 'graph-by-uid.json');
    expect(exportGraphJson(store, uid, file).what).toMatch(new RegExp(`^graph '${GRAPH_NAME}' `));
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(join(root, 'graph.json'), 'utf8'));
  });

  it('names an unknown graph', () => {
    expect(() => exportGraphJson(store, 'missing', join(root, 'g.json'))).toThrow(
      /^unknown graph 'missing' \(known: france-capital\)$/,
    );
  });
});
