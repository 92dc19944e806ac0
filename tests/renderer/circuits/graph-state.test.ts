// Pins, supernodes and labels, and how they travel in the exported JSON (Neuronpedia's qParams): an exported
// subgraph holds exactly the pinned nodes and the links among them, parses with the import schema, and opens with
// the same pins, supernodes and labels.
import { describe, expect, it } from 'vitest';
import { GraphJsonSchema } from '../../../src/protocol/circuits/graph-json';
import { filterGraph } from '../../../src/renderer/src/circuits/graph-filter';
import { toViewGraph } from '../../../src/renderer/src/circuits/graph-model';
import {
  addSupernode,
  exportShownGraph,
  exportSubgraph,
  removeSupernode,
  setLabel,
  stateFromJson,
  togglePin,
  type ExploreState,
} from '../../../src/renderer/src/circuits/graph-state';
import { fixtureGraphJson } from '../../helpers/graph-json-fixture';

const graph = () => toViewGraph(GraphJsonSchema.parse(fixtureGraphJson()));
const empty: ExploreState = { pinned: [], supernodes: [], labels: {} };

describe('pins and supernodes', () => {
  it('pins and unpins; an unpinned node leaves its supernode, and an emptied supernode goes', () => {
    let s = togglePin(togglePin(togglePin(empty, 'a'), 'b'), 'c');
    expect(s.pinned).toEqual(['a', 'b', 'c']);
    s = addSupernode(s, ' say Paris ', ['a', 'b']);
    expect(s.supernodes).toEqual([{ name: 'say Paris', members: ['a', 'b'] }]);
    // A member moves to the newer supernode.
    s = addSupernode(s, 'France', ['b', 'c']);
    expect(s.supernodes).toEqual([
      { name: 'say Paris', members: ['a'] },
      { name: 'France', members: ['b', 'c'] },
    ]);
    s = togglePin(s, 'a');
    expect(s.pinned).toEqual(['b', 'c']);
    expect(s.supernodes.map((x) => x.name)).toEqual(['France']);
    expect(removeSupernode(s, 'France').supernodes).toEqual([]);
  });

  it('refuses a supernode without a name or with fewer than two pinned members', () => {
    const s = togglePin(togglePin(empty, 'a'), 'b');
    expect(() => addSupernode(s, '  ', ['a', 'b'])).toThrow('a supernode needs a name');
    expect(() => addSupernode(s, 'x', ['a', 'not-pinned'])).toThrow('at least two pinned nodes');
  });

  it('sets and clears labels', () => {
    const s = setLabel(empty, 'a', ' Paris feature ');
    expect(s.labels).toEqual({ a: 'Paris feature' });
    expect(setLabel(s, 'a', ' ').labels).toEqual({});
  });
});

describe('export', () => {
  const explored = (): ExploreState => {
    let s = empty;
    for (const id of ['3_cro_101_4', '2_cro_300_4', '2_lor_7_4', '8_6342_4']) s = togglePin(s, id);
    s = addSupernode(s, 'say a capital', ['3_cro_101_4', '2_cro_300_4']);
    return setLabel(s, '2_lor_7_4', 'attend to the country');
  };

  it('exports the pinned subgraph with its links, supernodes and labels, and it opens with the same state', () => {
    const g = graph();
    const json = exportSubgraph(g, explored());
    expect(json.metadata.slug).toBe('france-capital-subgraph');
    expect(json.nodes.map((n) => n.node_id).sort()).toEqual(['2_cro_300_4', '2_lor_7_4', '3_cro_101_4', '8_6342_4']);
    const expected = g.links.filter(
      (l) => json.nodes.some((n) => n.node_id === l.source) && json.nodes.some((n) => n.node_id === l.target),
    );
    expect(json.links).toEqual(expected);
    expect(json.links.length).toBe(5);
    expect(json.qParams.supernodes).toEqual([['say a capital', '3_cro_101_4', '2_cro_300_4']]);
    expect(json.nodes.find((n) => n.node_id === '2_lor_7_4')?.clerp).toBe('attend to the country');
    expect(json.nodes.find((n) => n.node_id === '2_lor_7_4')?.qk_tracing_results).toBeTruthy();
    // QK contributors outside the subgraph stay resolvable through qk_only_nodes.
    expect(Object.keys(json.qk_only_nodes ?? {}).sort()).toEqual([
      '0_cro_40_3',
      '0_cro_99_3',
      '1_cro_8_4',
      '1_lor_21_4',
      'E_318_4',
      'E_4881_3',
    ]);

    const reopened = toViewGraph(GraphJsonSchema.parse(JSON.parse(JSON.stringify(json))));
    const state = stateFromJson(reopened);
    expect(state.pinned.sort()).toEqual(['2_cro_300_4', '2_lor_7_4', '3_cro_101_4', '8_6342_4']);
    expect(state.supernodes).toEqual([{ name: 'say a capital', members: ['3_cro_101_4', '2_cro_300_4'] }]);
    expect(reopened.byId.get('2_lor_7_4')?.label).toBe('attend to the country');
  });

  it('exports the graph as shown at the current thresholds', () => {
    const g = graph();
    const state = explored();
    const shown = filterGraph(g, { nodeThreshold: 0.4, edgeThreshold: 0.9, pinned: new Set(state.pinned) });
    const json = exportShownGraph(g, shown, state, 0.4);
    expect(json.nodes.length).toBe(shown.nodes.size);
    expect(json.nodes.length).toBeLessThan(30);
    expect(json.links.length).toBe(shown.links.length);
    expect(json.metadata.node_threshold).toBe(0.4);
    expect(json.qParams.pinnedIds).toEqual(state.pinned);
    expect(GraphJsonSchema.safeParse(json).success).toBe(true);
  });

  it('drops saved pins and supernode members that the graph does not have', () => {
    const raw = fixtureGraphJson();
    raw.qParams = {
      pinnedIds: ['3_cro_101_4', 'gone'],
      supernodes: [['x', 'gone'] as never, ['y', '3_cro_101_4', '2_cro_300_4'] as never],
      linkType: 'both',
      clickedId: '',
      sg_pos: '',
    };
    const s = stateFromJson(toViewGraph(GraphJsonSchema.parse(raw)));
    expect(s.pinned).toEqual(['3_cro_101_4']);
    expect(s.supernodes).toEqual([{ name: 'y', members: ['3_cro_101_4', '2_cro_300_4'] }]);
  });
});
