// The document mapping against the lm-saes spec's worked example (§4, copied below): the same records written
// through the store's API give the same documents — field names, field order and BSON types (int32 / int64 /
// double / ObjectId / date) — with only `studio_*` fields (and the DLA `logits`) added, and `.npy` GridFS files
// byte for byte what numpy.save writes.
import { EJSON, type Document } from 'bson';
import { describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../../../src/core/analysis/types';
import {
  addBookmark,
  openStore,
  saveAnalysis,
  upsertDataset,
  upsertDictionary,
  upsertModel,
} from '../../../src/core/store';
import { exportDocuments } from '../../../src/core/sync/export-documents';
import { gridfsDocuments } from '../../../src/core/sync/gridfs';
import type { DocumentSink, StoredFile } from '../../../src/core/sync/sink';
import { useTempDirs } from '../store/helpers';

const tempDir = useTempDirs();

// lm-saes-mongo.md §4, verbatim (collection, then one canonical Extended JSON document).
const SPEC = String.raw`
saes      {"_id":{"$oid":"69f495c00000000000000001"},"name":"demo-sae","series":"default","path":"/ckpt/demo-sae","cfg":{"sae_type":"sae","d_model":{"$numberInt":"4"},"expansion_factor":{"$numberDouble":"0.5"},"use_decoder_bias":true,"act_fn":"relu","norm_activation":"dataset-wise","sparsity_include_decoder_norm":true,"top_k":{"$numberInt":"50"},"sae_pretrained_name_or_path":null,"strict_loading":true,"use_triton_kernel":false,"sparsity_threshold_for_triton_spmm_kernel":{"$numberDouble":"0.996"},"jumprelu_threshold_window":{"$numberDouble":"2.0"},"hook_point_in":"blocks.3.hook_resid_post","hook_point_out":"blocks.3.hook_resid_post","use_glu_encoder":false},"model_name":"gpt2"}
models    {"_id":{"$oid":"69f495c00000000000000003"},"name":"gpt2","cfg":{"model_name":"gpt2","model_from_pretrained_path":null,"cache_dir":null,"local_files_only":false,"max_length":{"$numberInt":"2048"},"backend":"auto","prepend_bos":true,"bos_token_id":null,"eos_token_id":null,"pad_token_id":null}}
datasets  {"_id":{"$oid":"69f495c00000000000000004"},"name":"demo-text","cfg":{"dataset_name_or_path":"user/demo-text","cache_dir":null,"is_dataset_on_disk":false}}
analyses  {"_id":{"$oid":"69f495c00000000000000002"},"name":"default","sae_name":"demo-sae","sae_series":"default"}
features  {"_id":{"$oid":"69f495c00000000000000005"},"sae_name":"demo-sae","sae_series":"default","index":{"$numberInt":"0"},"analyses":[{"act_times":{"$numberInt":"42"},"n_analyzed_tokens":{"$numberInt":"1000000"},"max_feature_acts":{"$numberDouble":"1.5"},"samplings":[{"name":"top_activations","feature_acts_indices":{"$oid":"69f495c00000000000000010"},"feature_acts_values":{"$oid":"69f495c00000000000000011"},"context_idx":{"$oid":"69f495c00000000000000012"},"shard_idx":{"$oid":"69f495c00000000000000013"},"n_shards":{"$oid":"69f495c00000000000000014"},"model_name":["gpt2"],"dataset_name":["demo-text"]}],"name":"default"}]}
features  {"_id":{"$oid":"69f495c00000000000000006"},"sae_name":"demo-sae","sae_series":"default","index":{"$numberInt":"1"},"analyses":[{"act_times":{"$numberInt":"3"},"n_analyzed_tokens":{"$numberInt":"1000000"},"max_feature_acts":{"$numberDouble":"0.25"},"samplings":[{"name":"top_activations","feature_acts_indices":{"$oid":"69f495c00000000000000015"},"feature_acts_values":{"$oid":"69f495c00000000000000016"},"context_idx":{"$oid":"69f495c00000000000000017"},"shard_idx":{"$oid":"69f495c00000000000000018"},"n_shards":{"$oid":"69f495c00000000000000019"},"model_name":["gpt2"],"dataset_name":["demo-text"]}],"name":"default"}]}
fs.files  {"_id":{"$oid":"69f495c00000000000000010"},"chunkSize":{"$numberInt":"261120"},"length":{"$numberLong":"144"},"uploadDate":{"$date":{"$numberLong":"1777636800000"}}}
fs.chunks {"_id":{"$oid":"69f495c00000000000000030"},"files_id":{"$oid":"69f495c00000000000000010"},"n":{"$numberInt":"0"},"data":{"$binary":{"base64":"k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAQEAAAKBA","subType":"00"}}}
bookmarks {"_id":{"$oid":"69f495c00000000000000040"},"sae_name":"demo-sae","sae_series":"default","feature_index":{"$numberInt":"1"},"created_at":{"$date":{"$numberLong":"1777636800000"}},"tags":[],"notes":null}
`
  .trim()
  .split('\n')
  .map((line) => {
    const [collection, json] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf('{'))];
    return { collection, doc: JSON.parse(json) as Document };
  });

/** Canonical EJSON with ids and times made comparable (their values are illustrative in the spec). */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('$oid' in o) return { $oid: '*' };
    if ('$date' in o) return { $date: '*' };
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}

/** `ours` restricted to the fields `spec` has, in our order (so key order is compared too); lists the extras. */
function restrict(ours: unknown, spec: unknown, extras: string[], at = ''): unknown {
  if (Array.isArray(ours) && Array.isArray(spec))
    return ours.map((v, i) => restrict(v, spec[i] ?? spec[0], extras, `${at}[]`));
  if (ours && spec && typeof ours === 'object' && typeof spec === 'object' && !('$oid' in (spec as object))) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(ours)) {
      if (k in (spec as object)) out[k] = restrict(v, (spec as Record<string, unknown>)[k], extras, `${at}.${k}`);
      else extras.push(`${at}.${k}`);
    }
    return out;
  }
  return ours;
}

const demo: AnalysisResult = {
  dictionaryName: 'demo-sae',
  dictionaryDir: '/ckpt/demo-sae',
  modelName: 'gpt2',
  hookPointIn: 'blocks.3.hook_resid_post',
  hookPointOut: 'blocks.3.hook_resid_post',
  dSae: 2,
  dataset: { spec: 'demo-text', split: 'train', contextSize: 8 },
  tokensAnalysed: 1_000_000,
  createdAt: '2026-05-01T12:00:00.000Z',
  contexts: [2, 7].map((contextIndex) => ({ contextIndex, tokens: Int32Array.from({ length: 8 }, (_, i) => 100 + i) })),
  features: [
    { index: 0, actCount: 42, max: 1.5, ctx: 7, positions: [3, 5], values: [1.5, 0.75] },
    { index: 1, actCount: 3, max: 0.25, ctx: 2, positions: [1], values: [0.25] },
  ].map((f) => ({
    index: f.index,
    actCount: f.actCount,
    frequency: f.actCount / 1e6,
    maxActivation: f.max,
    meanActivation: f.max / 2,
    histogram: { edges: [0, 1], counts: [f.actCount] },
    samplings: [
      {
        name: 'top_activations',
        samples: [
          {
            contextIndex: f.ctx,
            positions: Int32Array.from(f.positions),
            values: Float32Array.from(f.values),
            maxActivation: f.max,
          },
        ],
      },
    ],
    topLogits: [{ tokenId: 11, token: ',', logit: 2 }],
    bottomLogits: [{ tokenId: 12, token: ' the', logit: -1 }],
    neighbours: [],
  })),
};

describe('lm-saes documents against the spec worked example', () => {
  it('builds every collection of the example with the same fields, order and BSON types', async () => {
    const store = openStore({ dir: tempDir() });
    const [sae, model, dataset] = SPEC.map((s) => EJSON.deserialize(s.doc, { relaxed: true }) as Document);
    // Our config holds d_sae, not lm-saes's expansion_factor: the mapping derives it (a double, after d_model).
    const { expansion_factor: _derived, ...config } = sae!.cfg as Record<string, unknown>;
    upsertDictionary(store, {
      name: 'demo-sae',
      path: '/ckpt/demo-sae',
      config: { ...config, d_sae: 2 },
      modelName: 'gpt2',
    });
    upsertModel(store, 'gpt2', model!.cfg);
    upsertDataset(store, 'demo-text', dataset!.cfg);
    saveAnalysis(store, demo);
    addBookmark(store, 'demo-sae', 1);
    const docs: { collection: string; doc: Document }[] = [];
    const files: StoredFile[] = [];
    const sink: DocumentSink = {
      async file(f) {
        files.push(f);
        const g = gridfsDocuments(f, new Date());
        for (const c of g.chunks) docs.push({ collection: 'fs.chunks', doc: c });
        docs.push({ collection: 'fs.files', doc: g.files });
      },
      async doc(collection, doc) {
        docs.push({ collection, doc });
      },
    };
    await exportDocuments(store, sink, { only: ['dictionaries', 'analyses', 'features', 'bookmarks'] });
    store.close();

    const canonical = docs.map((d) => ({
      collection: d.collection,
      doc: JSON.parse(EJSON.stringify(d.doc, { relaxed: false })) as Document,
    }));
    const f0 = canonical.find((c) => c.collection === 'features' && c.doc.index.$numberInt === '0')!.doc;
    const indicesId = f0.analyses[0].samplings[0].feature_acts_indices.$oid as string;
    for (const [i, expected] of SPEC.entries()) {
      const candidates = canonical.filter((c) => c.collection === expected.collection);
      const ours =
        expected.collection === 'features'
          ? candidates.find((c) => c.doc.index.$numberInt === expected.doc.index.$numberInt)!
          : expected.collection === 'fs.files'
            ? candidates.find((c) => c.doc._id.$oid === indicesId)!
            : expected.collection === 'fs.chunks'
              ? candidates.find((c) => c.doc.files_id.$oid === indicesId)!
              : candidates.find((c) => c.doc.name === expected.doc.name || expected.collection === 'bookmarks')!;
      const extras: string[] = [];
      const restricted = restrict(normalize(ours.doc), expected.doc, extras);
      expect(JSON.stringify(restricted), `spec line ${i + 1} (${expected.collection})`).toBe(
        JSON.stringify(normalize(expected.doc)),
      );
      // Only our own fields and the DLA logits (which lm-saes adds in a later pass) come on top.
      expect(
        extras.filter((e) => !/(^|\.)studio_\w+$/.test(e) && e !== '.logits'),
        expected.collection,
      ).toEqual([]);
    }
    // The other arrays' sizes as listed under the example (…11 to …19): 136 or 132 bytes.
    const f1 = canonical.find((c) => c.collection === 'features' && c.doc.index.$numberInt === '1')!.doc;
    const sampling = f1.analyses[0].samplings[0];
    const length = (field: string) => files.find((f) => f.id.toHexString() === sampling[field].$oid)!.bytes.length;
    expect(['feature_acts_indices', 'feature_acts_values', 'context_idx', 'shard_idx', 'n_shards'].map(length)).toEqual(
      [136, 132, 136, 136, 136],
    );
  });
});
