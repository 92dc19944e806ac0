// Bad input to the CLI: one line on stderr naming the file / field / value and what was expected, a non-zero
// exit code, and no stack trace unless --debug.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorLines, runCli } from '../helpers/cli';
import { archFixture } from '../helpers/fixtures';

function modelCopy(edit?: (cfg: Record<string, unknown>) => unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'sae-studio-bad-'));
  const src = archFixture('gpt2');
  copyFileSync(join(src, 'model.safetensors'), join(dir, 'model.safetensors'));
  const cfg = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'config.json'), edit ? JSON.stringify(edit(cfg) ?? cfg) : JSON.stringify(cfg));
  return dir;
}

function idsFile(rows: number[][]): string {
  const f = join(mkdtempSync(join(tmpdir(), 'sae-studio-ids-')), 'ids.json');
  writeFileSync(f, JSON.stringify(rows));
  return f;
}

function expectOneLineError(args: string[], pattern: RegExp): void {
  const r = runCli(args);
  expect(r.status, r.stdout).not.toBe(0);
  const lines = errorLines(r.stderr);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^sae-studio: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

const forward = (model: string, ids: string, extra: string[] = []) => [
  'lm',
  'forward',
  '--model',
  model,
  '--ids',
  ids,
  '--out',
  join(tmpdir(), 'never.safetensors'),
  '--backend',
  'cpu',
  ...extra,
];

describe('CLI bad input', () => {
  const ok = idsFile([[1, 2, 3]]);

  it('a missing model folder', () =>
    expectOneLineError(
      forward('/nonexistent/model', ok),
      /model '\/nonexistent\/model' not found: expected a model folder or one of the bundled models \(pdlm-4l-256\)/,
    ));

  it('a folder without config.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-studio-empty-'));
    expectOneLineError(forward(dir, ok), /no config\.json, expected a Hugging Face model folder/);
  });

  it('a malformed config.json', () => {
    const dir = modelCopy();
    writeFileSync(join(dir, 'config.json'), '{"model_type": "gpt2",');
    expectOneLineError(forward(dir, ok), /config\.json: not valid JSON/);
  });

  it('an unknown architecture', () =>
    expectOneLineError(
      forward(
        modelCopy((c) => ({ ...c, model_type: 'rwkv' })),
        ok,
      ),
      /config\.json: model_type 'rwkv' is not supported, expected one of gpt2, llama, qwen2, qwen3, gemma2, gpt_neox/,
    ));

  it('a truncated safetensors file', () => {
    const dir = modelCopy();
    const f = join(dir, 'model.safetensors');
    truncateSync(f, statSync(f).size - 1000);
    expectOneLineError(forward(dir, ok), /model\.safetensors: .*1000 bytes missing/);
  });

  it('weights inconsistent with config.json', () =>
    expectOneLineError(
      forward(
        modelCopy((c) => ({ ...c, n_embd: 32, n_head: 2 })),
        ok,
      ),
      /weight 'transformer\.wte\.weight' has shape \[512, 64\], expected \[512, 32\] from config\.json/,
    ));

  it('an unknown hook name', () =>
    expectOneLineError(
      forward(archFixture('gpt2'), ok, ['--hooks', 'blocks.0.hook_resid_post,blocks.0.hook_mlp_outt']),
      /unknown hook 'blocks\.0\.hook_mlp_outt'/,
    ));

  it('token ids out of the vocabulary', () =>
    expectOneLineError(
      forward(archFixture('gpt2'), idsFile([[1, 2, 512]])),
      /token id 512 at row 0, position 2 is out of the vocabulary \(expected 0\.\.511\)/,
    ));

  it("a sequence longer than the model's context", () =>
    expectOneLineError(
      forward(archFixture('gpt2'), idsFile([Array.from({ length: 129 }, () => 1)])),
      /sequence length 129 exceeds the model's context of 128 tokens/,
    ));

  it('ragged rows of ids', () =>
    expectOneLineError(forward(archFixture('gpt2'), idsFile([[1, 2], [3]])), /row 1 has 1 tokens, expected 2/));

  it('an unknown backend, option or command', () => {
    expectOneLineError(
      forward(archFixture('gpt2'), ok, ['--backend', 'cuda']),
      /--backend: unknown backend 'cuda', expected one of auto, webgpu, wasm, cpu/,
    );
    expectOneLineError(['lm', 'forward', '--modle', 'x'], /Unknown option '--modle'/);
    expectOneLineError(['train-everything'], /unknown command 'train-everything'/);
    expectOneLineError(['lm', 'eval', '--model', 'pdlm-4l-256'], /missing --windows/);
  });

  it('an --out that names a folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-studio-out-'));
    const args = forward(archFixture('gpt2'), ok).map((a) => (a.endsWith('never.safetensors') ? dir : a));
    expectOneLineError(args, /: is a folder; expected the path of a \.safetensors file to write/);
  });

  it('prints the stack trace only with --debug', () => {
    const r = runCli([...forward('/nonexistent/model', ok), '--debug']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('--help works on every command', () => {
    for (const cmd of [[], ['tokenize'], ['lm', 'forward'], ['lm', 'eval'], ['lm']]) {
      const r = runCli([...cmd, '--help']);
      expect(r.status, cmd.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage|Subcommands/);
    }
  });
});

describe('CLI bad input: names and ids that would become paths', () => {
  function studio(): { home: string; env: Record<string, string>; config: (name: string) => string } {
    const home = mkdtempSync(join(tmpdir(), 'sae-studio-names-'));
    mkdirSync(join(home, 'dictionaries', 'keep-me'), { recursive: true });
    writeFileSync(join(home, 'dictionaries', 'keep-me', 'config.json'), '{}');
    const config = (name: string) => {
      const file = join(home, `train-${readdirSync(home).length}.json`);
      const cfg = {
        name,
        model: 'pdlm-4l-256',
        dataset: 'pdlm-corpus',
        sae: { hook_point_in: 'blocks.0.hook_resid_post' },
        total_training_tokens: 40960,
      };
      writeFileSync(file, JSON.stringify(cfg));
      return file;
    };
    return { home, env: { SAE_STUDIO_HOME: home }, config };
  }

  it.each(['.', '..'])('refuses a dictionary named %j before any work, and the other dictionaries stay', (name) => {
    const s = studio();
    const r = runCli(['train', '--config', s.config(name), '--backend', 'cpu'], s.env);
    expect(r.status).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/field 'name': one folder name/);
    expect(existsSync(join(s.home, 'dictionaries', 'keep-me', 'config.json'))).toBe(true);
    expect(readdirSync(join(s.home, 'runs'))).toEqual([]);
  });

  it('refuses a --run-id outside runs/, and writes nothing', () => {
    const s = studio();
    const r = runCli(['train', '--config', s.config('ok'), '--run-id', '../../escaped', '--backend', 'cpu'], s.env);
    expect(r.status).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(/run id '\.\.\/\.\.\/escaped' is not one folder name/),
    ]);
    expect(existsSync(join(s.home, '..', 'escaped'))).toBe(false);
    expect(readdirSync(join(s.home, 'runs'))).toEqual([]);
  });

  it('explains a corrupt train-config.json on resume in one line', () => {
    const s = studio();
    mkdirSync(join(s.home, 'runs', 'broken'), { recursive: true });
    writeFileSync(join(s.home, 'runs', 'broken', 'train-config.json'), '{"name": "x", ');
    const r = runCli(['train', '--resume', 'broken'], s.env);
    expect(r.status).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(/train-config\.json: not valid JSON \(.*\); the run's config cannot be read back/),
    ]);
  });

  it('refuses to resume a run id outside runs/', () => {
    const s = studio();
    const r = runCli(['train', '--resume', '../x'], s.env);
    expect(r.status).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/run id '\.\.\/x' is not one folder name/)]);
  });
});
