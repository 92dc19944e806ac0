// Stored attribution graphs through the studio service (in-memory transport, real store and studio home): import a
// graph JSON, list it, open it with the dictionaries of its set placed by their hook points; a taken slug gets a
// suffix; a graph whose links name missing nodes, a duplicate node id, or an unknown slug are refused in one line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertDictionary } from '../../src/core/store';
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
      slug: 'france-capital',
      prompt: 'The capital of France is',
      scan: SET,
      nodes: 30,
      links: 55,
      origin: 'imported',
    });
    expect((await f.client.listGraphs({})).graphs.map((g) => g.slug)).toEqual(['france-capital']);
    const record = await f.client.getGraph({ slug: 'france-capital' });
    expect(record.graph.nodes).toHaveLength(30);
    expect(record.graph.metadata).toMatchObject({ schema_version: 1, info: { generator: { version: '1' } } });
    expect(record.graph.qk_only_nodes?.['0_cro_99_3']?.clerp).toBe('country names');
    expect(record.dictionaries).toEqual([]);

    // The same graph again: stored under the next free slug.
    const again = await f.client.importGraph({ graph: fixtureGraphJson() });
    expect(again.summary.slug).toBe('france-capital-2');
    expect((await f.client.getGraph({ slug: 'france-capital-2' })).graph.metadata.slug).toBe('france-capital-2');
    const odd = await f.client.importGraph({ graph: fixtureGraphJson('../a graph/with spaces') });
    expect(odd.summary.slug).toBe('a-graph-with-spaces');
  });

  it("places the set's dictionaries by their hook points", async () => {
    const add = (name: string, series: string, config: Record<string, unknown>) =>
      upsertDictionary(f.store, { name, series, path: `/d/${name}`, config: { d_sae: 512, ...config } });
    add('tc-l3', SET, {
      sae_type: 'sae',
      hook_point_in: 'blocks.3.ln2.hook_normalized',
      hook_point_out: 'blocks.3.hook_mlp_out',
    });
    add('lorsa-l2', SET, {
      sae_type: 'lorsa',
      hook_point_in: 'blocks.2.ln1.hook_normalized',
      hook_point_out: 'blocks.2.hook_attn_out',
    });
    add('plain-sae', SET, {
      sae_type: 'sae',
      hook_point_in: 'blocks.1.hook_resid_post',
      hook_point_out: 'blocks.1.hook_resid_post',
    });
    add('clt', 'other-set', {
      sae_type: 'clt',
      hook_points_in: ['blocks.0.hook_resid_pre', 'blocks.1.hook_resid_pre'],
    });
    const record = await f.client.getGraph({ slug: 'france-capital' });
    expect(record.dictionaries).toEqual([
      { layer: 2, sublayer: 'attn', name: 'lorsa-l2' },
      { layer: 3, sublayer: 'mlp', name: 'tc-l3' },
    ]);
    const graph = fixtureGraphJson('clt-graph');
    graph.metadata.scan = 'other-set';
    await f.client.importGraph({ graph });
    expect((await f.client.getGraph({ slug: 'clt-graph' })).dictionaries).toEqual([
      { layer: 0, sublayer: 'mlp', name: 'clt' },
      { layer: 1, sublayer: 'mlp', name: 'clt' },
    ]);
  });

  it('refuses broken graphs and unknown slugs in one line', async () => {
    const dangling = fixtureGraphJson('dangling');
    dangling.links.push({ source: 'nowhere', target: '8_6342_4', weight: 1 });
    await expect(f.client.importGraph({ graph: dangling })).rejects.toMatchObject({
      code: 'invalid_input',
      message: "field 'graph.links.55.source': no node 'nowhere' in nodes",
    });
    const dup = fixtureGraphJson('dup');
    dup.nodes.push({ ...dup.nodes[0]! });
    await expect(f.client.importGraph({ graph: dup })).rejects.toMatchObject({
      message: "field 'graph.nodes.30.node_id': duplicate node_id 'E_464_0'",
    });
    const twice = fixtureGraphJson('twice');
    twice.links.push({ ...twice.links[0]! });
    await expect(f.client.importGraph({ graph: twice })).rejects.toMatchObject({
      message: "field 'graph.links.55': a second link 3_cro_101_4 → 8_6342_4",
    });
    await expect(f.client.getGraph({ slug: 'no-such-graph' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^no graph 'no-such-graph' in .*graphs$/),
    });
    expect((await f.client.listGraphs({})).graphs.map((g) => g.slug).sort()).toEqual([
      'a-graph-with-spaces',
      'clt-graph',
      'france-capital',
      'france-capital-2',
    ]);
  });
});
