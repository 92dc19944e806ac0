// Graphs and dictionary sets in the store: the full matrix and the pruned JSON round-trip through their files,
// the job's status and progress, imports of JSON made elsewhere, removal, orphan files, and one-line errors.
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors';
import {
  createGraph,
  getDictionarySet,
  getGraph,
  GRAPHS_DIR,
  importGraph,
  listDictionarySets,
  listGraphs,
  loadGraph,
  loadGraphJson,
  openStore,
  removeDictionarySet,
  removeGraph,
  removeOrphanGraphFiles,
  saveDictionarySet,
  saveGraphResult,
  setGraphProgress,
  setGraphStatus,
  upsertDictionary,
  type Store,
} from '../../../src/core/store';
import { graphToJson } from '../../../src/protocol/circuits/graph-json';
import { pruneGraph } from '../../../src/protocol/circuits/influence';
import { randomGraph } from '../../protocol/circuits/graphs';
import { useTempDirs } from './helpers';

const tempDir = useTempDirs();

function withStore(fn: (store: Store) => void, dir = tempDir()): void {
  const store = openStore({ dir });
  try {
    fn(store);
  } finally {
    store.close();
  }
}

function expectInputError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InputError);
  expect((caught as Error).message).toMatch(pattern);
  expect((caught as Error).message).not.toContain('\n');
}

const register = (store: Store, name: string) =>
  upsertDictionary(store, { name, path: `/d/${name}`, config: { d_sae: 64 }, modelName: 'pdlm-4l-256' });

describe('dictionary sets', () => {
  it('saves, replaces, lists and removes a set of registered dictionaries with their roles', () => {
    withStore((store) => {
      for (const name of ['lorsa-0', 'tc-0', 'tc-1']) register(store, name);
      const saved = saveDictionarySet(store, {
        name: 'replacement',
        modelName: 'pdlm-4l-256',
        members: [
          { dictionary: 'lorsa-0', role: 'attn' },
          { dictionary: 'tc-0', role: 'mlp' },
        ],
      });
      expect(saved.members).toEqual([
        { dictionary: 'lorsa-0', role: 'attn' },
        { dictionary: 'tc-0', role: 'mlp' },
      ]);
      saveDictionarySet(store, { name: 'replacement', members: [{ dictionary: 'tc-1', role: 'mlp' }] });
      expect(getDictionarySet(store, 'replacement')).toMatchObject({
        members: [{ dictionary: 'tc-1', role: 'mlp' }],
        modelName: null,
        createdAt: saved.createdAt,
      });
      expect(listDictionarySets(store).map((s) => s.name)).toEqual(['replacement']);
      expect(removeDictionarySet(store, 'replacement')).toBe(true);
      expect(getDictionarySet(store, 'replacement')).toBeNull();
      expect(store.db.prepare('SELECT count(*) FROM dictionary_set_members').pluck().get()).toBe(0);
    });
  });

  it('refuses an unknown dictionary, a repeated one, a bad role and an empty set, in one line', () => {
    withStore((store) => {
      register(store, 'tc-0');
      const save = (members: { dictionary: string; role: string }[]) => () =>
        saveDictionarySet(store, { name: 's', members: members as never });
      expectInputError(save([{ dictionary: 'nope', role: 'mlp' }]), /dictionary set 's': no dictionary named 'nope'/);
      expectInputError(
        save([
          { dictionary: 'tc-0', role: 'mlp' },
          { dictionary: 'tc-0', role: 'mlp' },
        ]),
        /'tc-0' is listed twice/,
      );
      expectInputError(
        save([{ dictionary: 'tc-0', role: 'resid' }]),
        /members\[0\]\.role is 'resid', expected one of attn, mlp/,
      );
      expectInputError(save([]), /it has no dictionaries/);
      expect(listDictionarySets(store)).toEqual([]);
    });
  });
});

describe('graphs', () => {
  it('round-trips the full matrix (float32 and float64) and the pruned JSON through their files', () => {
    withStore((store) => {
      for (const float32 of [true, false]) {
        const name = float32 ? 'g32' : 'g64';
        const graph = randomGraph({ seed: 31, nLayers: 2, nPos: 3, sublayers: ['attn', 'mlp'], float32 });
        const json = graphToJson(graph, pruneGraph(graph), { slug: name, scan: 'replacement' });
        createGraph(store, {
          name,
          prompt: 'a b c',
          promptIds: graph.promptIds,
          dictionarySet: 'replacement',
          settings: { batch_size: 7 },
        });
        setGraphProgress(store, name, 0.5);
        expect(getGraph(store, name)).toMatchObject({ status: 'running', progress: 0.5, hasMatrix: false });
        const record = saveGraphResult(store, name, { graph, json });
        expect(record).toMatchObject({
          status: 'done',
          progress: 1,
          nNodes: graph.nodes.length,
          nLinks: json.links.length,
          hasMatrix: true,
          hasJson: true,
        });
        expect(record.promptIds).toEqual(graph.promptIds);
        const back = loadGraph(store, name);
        expect(back.adjacency).toBeInstanceOf(float32 ? Float32Array : Float64Array);
        expect(back).toEqual(graph);
        expect(loadGraphJson(store, name)).toEqual(JSON.parse(JSON.stringify(json)));
      }
      expect(listGraphs(store).map((g) => g.name)).toEqual(['g64', 'g32']);
      expect(readdirSync(join(store.dir, GRAPHS_DIR))).toHaveLength(4);
    });
  });

  it('keeps only the nonzero rows in the matrix file', () => {
    withStore((store) => {
      const graph = randomGraph({ seed: 32, nLayers: 3, nPos: 6, featuresPerSite: 1 });
      const json = graphToJson(graph, pruneGraph(graph), { slug: 's', scan: 'x' });
      createGraph(store, { name: 's', prompt: 'p', promptIds: graph.promptIds, settings: {} });
      const { uid } = saveGraphResult(store, 's', { graph, json });
      const n = graph.nodes.length;
      const rows = graph.nodes.filter((_, t) =>
        graph.adjacency.subarray(t * n, (t + 1) * n).some((v) => v !== 0),
      ).length;
      expect(rows).toBeLessThan(n / 2);
      const bytes = statSync(join(store.dir, GRAPHS_DIR, `${uid}.safetensors`)).size;
      expect(bytes).toBeLessThan(8 * rows * n + 64 * n + 4096);
    });
  });

  it('records a failed or cancelled graph, and refuses progress once it is over', () => {
    withStore((store) => {
      createGraph(store, { name: 'g', prompt: 'p', promptIds: [1, 2], settings: {} });
      expect(setGraphStatus(store, 'g', 'failed', 'out of memory')).toMatchObject({
        status: 'failed',
        error: 'out of memory',
      });
      expect(getGraph(store, 'g')?.finishedAt).not.toBeNull();
      expectInputError(() => setGraphProgress(store, 'g', 0.7), /graph 'g' is failed, not running/);
      expectInputError(
        () => createGraph(store, { name: 'g', prompt: 'p', promptIds: [], settings: {} }),
        /a graph named 'g' already exists/,
      );
      expectInputError(() => loadGraph(store, 'g'), /graph 'g' has no stored matrix \(status failed\)/);
      expectInputError(() => loadGraph(store, 'nope'), /no graph named 'nope'/);
      createGraph(store, { name: 'h', prompt: 'p', promptIds: [1], settings: {} });
      expectInputError(() => setGraphProgress(store, 'h', 1.5), /progress 1.5 is outside \[0, 1\]/);
      expect(setGraphStatus(store, 'h', 'cancelled').status).toBe('cancelled');
    });
  });
});

describe('graph imports, removal and readers', () => {
  it('imports a graph JSON made elsewhere (JSON only), filling the fields it left out', () => {
    withStore((store) => {
      const foreign = {
        metadata: {
          slug: 'x',
          scan: 'gemma-2-2b',
          prompt_tokens: ['<bos>', 'hi'],
          prompt: '<bos>hi',
          schema_version: 1,
        },
        nodes: [
          { node_id: 'E_2_0', feature: 0, layer: 'E', ctx_idx: 0, feature_type: 'embedding' },
          { node_id: 'E_7_1', feature: 1, layer: 'E', ctx_idx: 1, feature_type: 'embedding' },
          {
            node_id: '0_3_1',
            feature: 9,
            layer: '0',
            ctx_idx: 1,
            feature_type: 'cross layer transcoder',
            activation: 2,
          },
          {
            node_id: '2_5_1',
            feature: 5,
            layer: '2',
            ctx_idx: 1,
            feature_type: 'logit',
            token_prob: 0.5,
            clerp: 'Output "x" (p=0.500)',
          },
        ],
        links: [
          { source: 'E_7_1', target: '0_3_1', weight: 1 },
          { source: '0_3_1', target: '2_5_1', weight: 2 },
        ],
      };
      const record = importGraph(store, { name: 'imported', json: foreign });
      expect(record).toMatchObject({
        status: 'done',
        hasMatrix: false,
        hasJson: true,
        prompt: '<bos>hi',
        promptIds: [2, 7],
        nNodes: 4,
        nLinks: 2,
      });
      const json = loadGraphJson(store, 'imported');
      expect(json.nodes[2]).toMatchObject({ jsNodeId: '0_3_1', clerp: '' });
      expect(json.qParams.pinnedIds).toEqual([]);
      expectInputError(
        () =>
          importGraph(store, {
            name: 'bad',
            json: { ...foreign, links: [{ source: 'E_2_0', target: 'nope', weight: 1 }] },
          }),
        /links\[0\]\.target: unknown node id "nope"/,
      );
      expect(getGraph(store, 'bad')).toBeNull();
    });
  });

  it('removes a graph with its files, and orphan files of killed saves', () => {
    withStore((store) => {
      const graph = randomGraph({ seed: 33 });
      createGraph(store, { name: 'g', prompt: 'p', promptIds: graph.promptIds, settings: {} });
      const { uid } = saveGraphResult(store, 'g', {
        graph,
        json: graphToJson(graph, pruneGraph(graph), { slug: 'g', scan: 'x' }),
      });
      const dir = join(store.dir, GRAPHS_DIR);
      const orphan = join(dir, 'dead-beef.json');
      const temporary = join(dir, `.${uid}.json.123.abcd.tmp`);
      writeFileSync(orphan, '{}');
      writeFileSync(temporary, '{');
      const old = new Date(Date.now() - 2 * 3_600_000);
      utimesSync(orphan, old, old);
      utimesSync(temporary, old, old);
      expect(removeOrphanGraphFiles(store).sort()).toEqual([`.${uid}.json.123.abcd.tmp`, 'dead-beef.json']);
      expect(readdirSync(dir).sort()).toEqual([`${uid}.json`, `${uid}.safetensors`]);
      expect(removeGraph(store, 'g')).toBe(true);
      expect(existsSync(join(dir, `${uid}.json`))).toBe(false);
      expect(removeGraph(store, 'g')).toBe(false);
    });
  });

  it('lets a reader see graphs and refuses its writes in one line', () => {
    const dir = tempDir();
    withStore((store) => createGraph(store, { name: 'g', prompt: 'p', promptIds: [1], settings: { a: 1 } }), dir);
    const reader = openStore({ dir, readonly: true });
    try {
      expect(getGraph(reader, 'g')?.settings).toEqual({ a: 1 });
      expectInputError(() => setGraphProgress(reader, 'g', 0.1), /opened read-only; updating a graph needs the writer/);
    } finally {
      reader.close();
    }
  });
});
