// `sae-studio attribute` on pdlm-4l-256 with a small random replacement set (a CLT on the four MLPs, a Lorsa on
// each attention layer) registered in a real store: the graph JSON (schema 1, Cantor ids, unique node ids, logit
// clerps), the graph stored with its prompt and status, and the bad inputs the issue lists, each one line, exit 2.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getGraph, openStore, saveDictionarySet } from '../../src/core/store';
import { cantorUnpair } from '../../src/protocol/circuits/cantor';
import { errorLines, runCli } from '../helpers/cli';
import { saveRandomDictionary, saveRandomReplacementSet } from '../helpers/replacement-set';

const home = mkdtempSync(join(tmpdir(), 'sae-studio-attribute-'));
const LAYERS = [0, 1, 2, 3];

function saveSet(name: string, members: { dictionary: string; role: 'attn' | 'mlp' }[]): void {
  const store = openStore({ dir: home });
  try {
    saveDictionarySet(store, { name, members, modelName: 'pdlm-4l-256' });
  } finally {
    store.close();
  }
}

const attribute = (args: string[]) => runCli(['attribute', ...args], { SAE_STUDIO_HOME: home });

beforeAll(() => {
  saveRandomReplacementSet(home);
  saveSet('lorsa-only', [{ dictionary: 'replacement-lorsa-0', role: 'attn' }]);
});

describe('sae-studio attribute', () => {
  it('writes a graph JSON the frontends load and stores the graph', () => {
    const out = join(home, 'graph.json');
    const r = attribute([
      '--set',
      'replacement',
      '--prompt',
      'The cat sat on the mat because',
      '--out',
      out,
      '--name',
      'g1',
    ]);
    expect(errorLines(r.stderr).filter((l) => !l.includes('attributing'))).toEqual([]);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout.trim()) as { graph: string; kept_nodes: number; features: number };
    expect(summary.graph).toBe('g1');
    expect(summary.features).toBeGreaterThan(0);
    const json = JSON.parse(readFileSync(out, 'utf8')) as {
      metadata: { schema_version: number; prompt_tokens: string[] };
      nodes: { node_id: string; feature: number | null; layer: string; feature_type: string; clerp: string }[];
      links: { source: string; target: string; weight: number }[];
    };
    expect(json.metadata.schema_version).toBe(1);
    expect(json.metadata.prompt_tokens.length).toBeGreaterThan(5);
    const ids = json.nodes.map((n) => n.node_id);
    expect(new Set(ids).size).toBe(ids.length);
    const logits = json.nodes.filter((n) => n.feature_type === 'logit');
    expect(logits.length).toBeGreaterThan(0);
    for (const l of logits) expect(l.clerp).toMatch(/^Output ".*" \(p=0\.\d+\)$/s);
    for (const n of json.nodes.filter(
      (x) => x.feature_type === 'lorsa' || x.feature_type === 'cross layer transcoder',
    )) {
      const { layer, index: idx } = cantorUnpair(n.feature!);
      expect(n.node_id).toContain(`_${idx}_`);
      expect(Number.isInteger(layer)).toBe(true);
    }
    // The most influential Lorsa features carry their QK tracing (marginals and pairs, ids that resolve).
    const traced = json.nodes.filter((n) => (n as { qk_tracing_results?: unknown }).qk_tracing_results);
    expect(traced.length).toBeGreaterThan(0);
    for (const n of traced) expect(n.feature_type).toBe('lorsa');
    for (const link of json.links) {
      expect(ids).toContain(link.source);
      expect(ids).toContain(link.target);
    }
    const store = openStore({ dir: home, readonly: true });
    try {
      const g = getGraph(store, 'g1')!;
      expect(g.status).toBe('done');
      expect(g.dictionarySet).toBe('replacement');
      expect(g.hasMatrix).toBe(true);
    } finally {
      store.close();
    }
  });

  const bad: [string, string[], RegExp][] = [
    ['a set that does not cover the MLPs', ['--set', 'lorsa-only', '--prompt', 'Hello there'], /mlp|MLP/],
    ['an empty prompt', ['--set', 'replacement', '--prompt', '   '], /--prompt is empty/],
    [
      'a prompt longer than the context',
      ['--set', 'replacement', '--prompt', 'word '.repeat(400)],
      /longer than the model's context of 256/,
    ],
    [
      'a node threshold outside (0, 1]',
      ['--set', 'replacement', '--prompt', 'Hi', '--node-threshold', '1.5'],
      /node_threshold must be in \(0, 1\]/,
    ],
    [
      'an edge threshold of 0',
      ['--set', 'replacement', '--prompt', 'Hi', '--edge-threshold', '0'],
      /edge_threshold must be in \(0, 1\]/,
    ],
    ['an unknown set', ['--set', 'nope', '--prompt', 'Hi'], /nope/],
  ];
  for (const [label, args, pattern] of bad) {
    it(`${label}: one line, exit 2`, () => {
      const r = attribute([...args, '--out', join(home, 'bad.json')]);
      expect(r.status).toBe(2);
      const lines = errorLines(r.stderr).filter((l) => !l.includes('attributing'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
    });
  }

  it('dictionaries of another model: one line naming it', () => {
    saveRandomDictionary(
      home,
      'clt-other',
      {
        sae_type: 'clt',
        hook_points_in: LAYERS.map((l) => `blocks.${l}.ln2.hook_normalized`),
        hook_points_out: LAYERS.map((l) => `blocks.${l}.hook_mlp_out`),
        d_sae: 16,
        d_model: 64,
        act_fn: 'topk',
        top_k: 4,
      },
      3,
    );
    const r = attribute([
      '--dictionaries',
      'clt-other',
      '--model',
      'pdlm-4l-256',
      '--prompt',
      'Hi',
      '--out',
      join(home, 'x.json'),
    ]);
    expect(r.status).toBe(2);
    expect(errorLines(r.stderr).filter((l) => !l.includes('attributing'))).toHaveLength(1);
    expect(r.stderr).toMatch(/d_model/);
    writeFileSync(join(home, 'done'), '');
  });
});
