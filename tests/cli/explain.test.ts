// `sae-studio explain` through the built CLI on a small analysed dictionary: pdlm-4l-256 as the local explainer,
// an OpenAI-compatible test server (the key from SAE_STUDIO_OPENAI_API_KEY, sent as a Bearer header and shown
// nowhere), and one-line errors for bad options.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, runCli, type CliResult } from '../helpers/cli';
import { analysedDictionary } from '../helpers/analysed-dictionary';
import { ROOT } from '../helpers/fixtures';
import { cannedAnswer, startOpenAiTestServer, type OpenAiTestServer } from '../helpers/openai-test-server';
import { tempHome } from '../helpers/train-fixtures';

/** The CLI without blocking this process's event loop (the test server answers from it). */
function runCliAsync(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'sae-studio.js'), ...args], {
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('sae-studio explain', () => {
  let home: string;
  let live: number[];
  let server: OpenAiTestServer;
  const env = () => ({ SAE_STUDIO_HOME: home });

  beforeAll(async () => {
    home = tempHome();
    analysedDictionary(home);
    const list = runCli(['features', '--dictionary', 'small', '--sort', 'frequency', '--json', '--limit', '3'], env());
    live = (JSON.parse(list.stdout) as { index: number }[]).map((f) => f.index);
    server = await startOpenAiTestServer(cannedAnswer);
  }, 300_000);
  afterAll(async () => server?.close());

  it('explains with pdlm-4l-256 as a local explainer and the feature shows the stored text', () => {
    const r = runCli(
      [
        'explain',
        '--dictionary',
        'small',
        '--explainer',
        'local:pdlm-4l-256',
        '--features',
        String(live[0]),
        '--max-tokens',
        '3',
        '--backend',
        'cpu',
      ],
      env(),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      total: 1,
      explained: 1,
      failed: 0,
      explainer: { model: 'pdlm-4l-256' },
    });
    const f = JSON.parse(runCli(['feature', 'small', String(live[0]), '--json'], env()).stdout) as {
      interpretation: string;
    };
    expect(f.interpretation.length).toBeGreaterThan(0);
  }, 300_000);

  it('explains through an OpenAI-compatible endpoint with the key from the environment', async () => {
    const key = 'sk-cli-test-456';
    const r = await runCliAsync(
      [
        'explain',
        '--dictionary',
        'small',
        '--explainer',
        `openai:${server.baseUrl}`,
        '--model',
        'gpt-test',
        '--features',
        `${live[1]},${live[2]}`,
        '--scorers',
        'detection',
        '--max-tokens',
        '200',
      ],
      { ...env(), SAE_STUDIO_OPENAI_API_KEY: key },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ explained: 2, explainer: { backend: 'openai', model: 'gpt-test' } });
    // Two features × (explanation + detection).
    expect(server.requests).toHaveLength(4);
    for (const q of server.requests) {
      expect(q.headers.authorization).toBe(`Bearer ${key}`);
      expect(q.body).toMatchObject({ model: 'gpt-test', max_tokens: 200, temperature: 0 });
    }
    expect(r.stdout + r.stderr).not.toContain(key);
    const f = JSON.parse(runCli(['feature', 'small', String(live[1]), '--json'], env()).stdout) as {
      interpretation: string;
    };
    expect(f.interpretation).toBe('This feature activates on common words');
  }, 120_000);

  it('rejects bad options in one line naming the option and what it expects', () => {
    const cases: [string[], RegExp][] = [
      [['--explainer', 'gpt4'], /--explainer 'gpt4': expected local:MODEL_DIR or openai:BASE_URL/],
      [['--explainer', 'openai:http://127.0.0.1:9/v1'], /needs --model/],
      [['--explainer', 'local:pdlm-4l-256', '--features', '0-9999'], /--features range 0-9999 is outside 0-255/],
      [['--explainer', 'local:pdlm-4l-256', '--scorers', 'simulation'], /--scorers has 'simulation', expected/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(['explain', '--dictionary', 'small', ...args], env());
      expect(r.status).toBe(2);
      const lines = errorLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
  });
});
