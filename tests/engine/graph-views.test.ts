// Stored attribution graphs through the studio service (in-memory transport, the real store): import a graph JSON,
// list it, open it with the dictionaries of its sites — from SAE Studio's own metadata, or from its dictionary set
// placed by hook points; a taken name gets a suffix; a graph whose links name missing nodes, a duplicate node id, or
// an unknown name are refused in one line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveDictionarySet, upsertDictionary } from '../../src/core/store';
import { fixtureGraphJson } from '../helpers/graph-json-fixture';
import { createStudioFixture, type StudioFixture } from './studio-fixture';

let f: StudioFixture;
beforeAll(() => {
  f = createStudioFixture();
});
afterAll(async () => {
  await f.close();
});

const SET = 'pdlm-4l-256-replacement';

describe('graphs in the studio service', () => {
  it('imports, lists and opens a graph, keeping fields it does not read', async () => {
    const { summary } = await f.client.importGraph({ graph: fixtureGraphJson() });
    expect(summary).toMatchObject({
      name: 'france-capital',
      prompt: 'The capital of France is',
      dictionarySet: null,
      status: 'done',
      progress: 1,
      nodes: 30,
      links: 55,
      origin: 'imported',
    });
    expect((await f.client.listGraphs({})).graphs.map((g) => g.name)).toEqual(['france-capital']);
    const record = await f.client.getGraph({ name: 'france-capital' });
    expect(record.graph!.nodes).toHaveLength(30);
    expect(record.graph!.metadata).toMatchObject({ schema_version: 1, info: { generator: { version: '1' } } });
    expect(record.graph!.qk_only_nodes?.['0_cro_99_3']?.clerp).toBe('country names');
    expect(record.dictionaries).toEqual([]);

    // The same graph again: stored under the next free name.
    expect((await f.client.importGraph({ graph: fixtureGraphJson() })).summary.name).toBe('france-capital-2');
    const named = await f.client.importGraph({ graph: fixtureGraphJson(), name: 'my/graph with spaces' });
    expect((await f.client.getGraph({ name: named.summary.name })).summary.nodes).toBe(30);
  });

  it("finds the dictionaries of a graph's sites in the store", async () => {
    const add = (name: string, config: Record<string, unknown>) =>
      upsertDictionary(f.store, { name, series: 'demo', path: `/d/${name}`, config: { d_sae: 512, ...config } });
    add('tc-l3', {
      sae_type: 'sae',
      hook_point_in: 'blocks.3.ln2.hook_normalized',
      hook_point_out: 'blocks.3.hook_mlp_out',
    });
    add('lorsa-l2', {
      sae_type: 'lorsa',
      hook_point_in: 'blocks.2.ln1.hook_normalized',
      hook_point_out: 'blocks.2.hook_attn_out',
    });
    add('clt', { sae_type: 'clt', hook_points_in: ['blocks.0.hook_resid_mid', 'blocks.1.hook_resid_mid'] });
    saveDictionarySet(f.store, {
      name: SET,
      members: [
        { dictionary: 'clt', role: 'mlp' },
        { dictionary: 'lorsa-l2', role: 'attn' },
        { dictionary: 'tc-l3', role: 'mlp' },
      ],
    });
    // The graph's scan names a set of the store: the set's members, placed by their hook points.
    const { summary } = await f.client.importGraph({ graph: fixtureGraphJson('from-set') });
    expect(summary.dictionarySet).toBe(SET);
    expect((await f.client.getGraph({ name: 'from-set' })).dictionaries).toEqual([
      { layer: 0, sublayer: 'mlp', name: 'clt' },
      { layer: 1, sublayer: 'mlp', name: 'clt' },
      { layer: 2, sublayer: 'attn', name: 'lorsa-l2' },
      { layer: 3, sublayer: 'mlp', name: 'tc-l3' },
    ]);
    // SAE Studio's own metadata names each site's dictionary; names the store lacks are left out.
    const own = fixtureGraphJson('own-metadata');
    own.metadata.scan = 'elsewhere';
    own.metadata.sae_studio = {
      n_layers: 4,
      layer_scheme: 'interleaved',
      prompt_ids: [464, 3139, 286, 4881, 318],
      dictionaries: { '3/mlp': 'tc-l3', '2/attn': 'lorsa-l2', '1/mlp': 'not-in-the-store' },
    };
    await f.client.importGraph({ graph: own });
    const record = await f.client.getGraph({ name: 'own-metadata' });
    expect(record.summary.dictionarySet).toBeNull();
    expect(record.dictionaries).toEqual([
      { layer: 3, sublayer: 'mlp', name: 'tc-l3' },
      { layer: 2, sublayer: 'attn', name: 'lorsa-l2' },
    ]);
  });

  it('refuses broken graphs and unknown names in one line', async () => {
    const dangling = fixtureGraphJson('dangling');
    dangling.links.push({ source: 'nowhere', target: '8_6342_4', weight: 1 });
    await expect(f.client.importGraph({ graph: dangling })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^graph 'dangling': graph JSON: links\[55\]\.source: .*nowhere/),
    });
    const dup = fixtureGraphJson('dup');
    dup.nodes.push({ ...dup.nodes[0]! });
    await expect(f.client.importGraph({ graph: dup })).rejects.toMatchObject({
      message: expect.stringMatching(/^graph 'dup': graph JSON: nodes\[30\]\.node_id: .*E_464_0/),
    });
    const bad = fixtureGraphJson('bad');
    (bad.nodes[3] as Record<string, unknown>).ctx_idx = 'three';
    await expect(f.client.importGraph({ graph: bad })).rejects.toMatchObject({
      message: expect.stringMatching(/^graph 'bad': graph JSON: nodes\[3\]\.ctx_idx: /),
    });
    await expect(f.client.getGraph({ name: 'no-such-graph' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^no graph named 'no-such-graph' in .*studio\.db$/),
    });
    expect((await f.client.listGraphs({})).graphs.map((g) => g.name).sort()).toEqual([
      'france-capital',
      'france-capital-2',
      'from-set',
      'my/graph with spaces',
      'own-metadata',
    ]);
  });
});
