// `sae-studio export` as a real child process on a home with a real store: each target writes files our loaders
// read back (the core suites check them field by field), and bad input is one line on stderr.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAnyDictionary } from '../../src/core/dictionary/registry';
import { errorLines, runCli } from '../helpers/cli';
import { buildInteropHome, GRAPH_NAME } from '../core/interop/interop-home';

let home: string;
beforeAll(() => {
  home = buildInteropHome();
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const cli = (args: string[]) => runCli(['export', ...args], { SAE_STUDIO_HOME: home });

function expectOneLineError(args: string[], pattern: RegExp): void {
  const r = cli(args);
  expect(r.status, r.stdout).not.toBe(0);
  const lines = errorLines(r.stderr);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('sae-studio export', () => {
  it('--to saelens writes cfg.json + sae_weights.safetensors that load back', () => {
    const out = join(home, 'jumprelu-tc-saelens');
    const r = cli(['--to', 'saelens', out, '--dictionary', 'jumprelu-tc']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`wrote SAELens dictionary 'jumprelu-tc' to ${out}\n`);
    const cfg = JSON.parse(readFileSync(join(out, 'cfg.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ architecture: 'jumprelu_transcoder', d_in: 8, d_sae: 24, d_out: 8 });
    expect(loadAnyDictionary(out).cfg).toMatchObject({ act_fn: 'jumprelu', d_sae: 24 });
  });

  it('--to lm-saes writes a CLT as lm-saes loads it', () => {
    const out = join(home, 'clt-lm-saes');
    const r = cli(['--to', 'lm-saes', out, '--dictionary', 'tiny-clt']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote lm-saes clt 'tiny-clt' to /);
    expect(loadAnyDictionary(out).kind.saeType).toBe('clt');
    expect(existsSync(join(out, 'lm_config.json'))).toBe(true);
  });

  it('--to graph-json writes the graph JSON', () => {
    const out = join(home, 'graph.json');
    const r = cli(['--to', 'graph-json', out, '--graph', GRAPH_NAME]);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8')) as { nodes: unknown[]; links: unknown[] };
    expect(r.stdout).toBe(
      `wrote graph '${GRAPH_NAME}' (${json.nodes.length} nodes, ${json.links.length} links) to ${out}\n`,
    );
  });

  it('--to lm-saes-config RUN DIR writes settings.json and train.py', () => {
    const out = join(home, 'cluster');
    const r = cli(['--to', 'lm-saes-config', 'run-lorsa', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`wrote run 'run-lorsa' as lm-saes TrainLorsaSettings to ${out}\n`);
    const s = JSON.parse(readFileSync(join(out, 'settings.json'), 'utf8')) as { sae: { sae_type: string } };
    expect(s.sae.sae_type).toBe('lorsa');
    expect(readFileSync(join(out, 'train.py'), 'utf8')).toContain(
      'train_lorsa(TrainLorsaSettings.model_validate(raw))',
    );
  });

  it('bad input: one line each (unknown graphs and runs: tests/core/interop)', () => {
    expectOneLineError(
      ['--to', 'saelens', join(home, 'x'), '--dictionary', 'tiny-molt'],
      /^sae-studio: error: dictionary 'tiny-molt' is a molt: SAELens has no molt/,
    );
    expectOneLineError(
      ['--to', 'hdf5', join(home, 'x')],
      /^sae-studio: error: --to is 'hdf5', expected one of saelens, lm-saes, graph-json, lm-saes-config, mongodump, ejson$/,
    );
    expectOneLineError(
      ['--to', 'lm-saes-config', 'run-sae'],
      /^sae-studio: error: --to lm-saes-config takes RUN DIR \(got run-sae\)$/,
    );
  });
});
