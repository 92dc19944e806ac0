// `sae-studio serve`: the StudioService over real HTTP on 127.0.0.1 with the session token as a Bearer header only
// (never a cookie or a query parameter), single-use tickets for the event stream, foreign Origins refused (401 / 400
// / 403 / 404 / 405 / 413 / 415 / 500 answers), job events as Server-Sent Events, the UI's static files, and the
// built CLI serving a training job end to end, refusing paths outside the home and its --allow folders, and
// stopping cleanly on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStudioServer, type StudioServer } from '../../src/cli/server/http-server';
import { API_PREFIX, EVENTS_PATH, EVENTS_TICKET_PATH, HTTP_STATUS, JOB_EVENT } from '../../src/protocol/http-api';
import type { StudioEvent } from '../../src/protocol/jobs';
import { CallResultSchema, ServiceError, type CallResult } from '../../src/protocol/service-error';
import {
  createStudioClient,
  type StudioClient,
  type StudioEventSource,
  type StudioTransport,
} from '../../src/protocol/studio-client';
import type { StudioServiceImpl } from '../../src/protocol/studio-service';
import { errorLines, runCli } from '../helpers/cli';
import { ROOT } from '../helpers/fixtures';
import { smallTextDataset, smallTrainConfig, tempHome } from '../helpers/train-fixtures';

const TOKEN = 'test-token-0123456789abcdefghijklmnopqrstu';

/** The HTTP transport a browser UI would use: fetch for calls, a streamed GET for the events. */
function httpTransport(origin: string, token: string): StudioTransport {
  return {
    async call(method, body): Promise<CallResult> {
      const res = await fetch(`${origin}api/${method}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { error?: unknown };
      return CallResultSchema.parse(res.ok ? { ok: true, result: json } : { ok: false, error: json.error });
    },
    subscribe(listener) {
      const abort = new AbortController();
      void readEvents(`${origin}api/events`, abort.signal, listener, undefined, {
        Authorization: `Bearer ${token}`,
      }).catch(() => undefined);
      return () => abort.abort();
    },
  };
}

async function readEvents(
  url: string,
  signal: AbortSignal,
  listener: (e: StudioEvent) => void,
  onOpen?: () => void,
  headers: Record<string, string> = {},
): Promise<void> {
  const res = await fetch(url, { signal, headers });
  if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
  onOpen?.();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end).split('\n');
      buffer = buffer.slice(end + 2);
      const name = block.find((l) => l.startsWith('event: '))?.slice(7);
      const data = block.find((l) => l.startsWith('data: '))?.slice(6);
      if (name === JOB_EVENT && data) listener(JSON.parse(data) as StudioEvent);
    }
  }
}

async function post(
  origin: string,
  path: string,
  init: RequestInit = {},
): Promise<{
  status: number;
  body: { error?: { code: string; message: string; issues?: unknown[] } } & Record<string, unknown>;
}> {
  const res = await fetch(`${origin}${path}`, { method: 'POST', ...init });
  return { status: res.status, body: (await res.json()) as never };
}

const auth = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };

function eventHub() {
  const listeners = new Set<(e: StudioEvent) => void>();
  const source: StudioEventSource = { subscribe: (l) => (listeners.add(l), () => listeners.delete(l)) };
  return { source, emit: (e: StudioEvent) => listeners.forEach((l) => l(e)) };
}

interface StudioServers {
  /** Feeds events to both servers' event streams. */
  hub: ReturnType<typeof eventHub>;
  /** The errors the plain server reported as internal. */
  internal: unknown[];
  /** Serving a stub service, without a built UI. */
  server: StudioServer;
  /** The same, serving a built UI from a temporary folder (with a secret.txt one level above it). */
  withUi: StudioServer;
}

/**
 * Registers a suite's start and stop of two in-process servers over a stub service (appInfo answers, listRuns fails
 * with an internal error, getRun with invalid input); the getter is valid once the suite's beforeAll ran.
 */
function useStudioServers(): () => StudioServers {
  const hub = eventHub();
  const internal: unknown[] = [];
  const impl = {
    appInfo: async () => ({ name: 'SAE Studio', version: '9.9.9' }),
    listRuns: async () => {
      throw new Error('disk on fire\n    at secret.ts:1:1');
    },
    getRun: async ({ id }: { id: string }) => {
      throw ServiceError.invalidInput([{ field: 'id', message: `no run '${id}'` }]);
    },
  } as unknown as StudioServiceImpl;
  let servers: StudioServers | undefined;
  beforeAll(async () => {
    const server = await startStudioServer({
      impl,
      events: hub.source,
      token: TOKEN,
      onInternalError: (_, e) => internal.push(e),
      ticketTtlMs: 1500,
    });
    const renderer = mkdtempSync(join(tmpdir(), 'sae-renderer-'));
    mkdirSync(join(renderer, 'assets'));
    writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>studio ui</title>');
    writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(join(tmpdir(), 'secret.txt'), 'secret');
    const withUi = await startStudioServer({ impl, events: hub.source, token: TOKEN, rendererDir: renderer });
    servers = { hub, internal, server, withUi };
  });
  afterAll(async () => {
    await servers?.server.close();
    await servers?.withUi.close();
  });
  return () => {
    if (!servers) throw new Error('the servers are started in beforeAll');
    return servers;
  };
}

describe('studio HTTP server: the session token', () => {
  const servers = useStudioServers();
  let server: StudioServer;
  beforeAll(() => {
    ({ server } = servers());
  });

  it('listens on 127.0.0.1 and prints a URL that carries the token', () => {
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(server.url).toBe(`${server.origin}?token=${TOKEN}`);
  });

  it('answers a call with the token in the Authorization header, and only there', async () => {
    expect(await post(server.origin, 'api/appInfo', { headers: auth, body: '{}' })).toEqual({
      status: 200,
      body: { name: 'SAE Studio', version: '9.9.9' },
    });
    expect((await post(server.origin, `api/appInfo?token=${TOKEN}`)).status).toBe(401);
    const client = createStudioClient(httpTransport(server.origin, TOKEN));
    expect(await client.appInfo({})).toEqual({ name: 'SAE Studio', version: '9.9.9' });
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { Authorization: 'Bearer nope' }],
    ['a token one character short', { Authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['the token as a cookie', { Cookie: `sae_studio_session=${TOKEN}` }],
    ['the token in the query', {}, `?token=${TOKEN}`],
  ])('answers 401 to a call with %s, before anything else', async (_, headers, query = '') => {
    const r = await post(server.origin, `api/noSuchMethod${query}`, { headers, body: 'not json' });
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ code: 'unauthorized', message: expect.stringContaining('session token') });
    expect((await fetch(`${server.origin}api/events${query}`, { headers })).status).toBe(401);
    expect((await post(server.origin, `${EVENTS_TICKET_PATH.slice(1)}${query}`, { headers })).status).toBe(401);
  });

  it('sets no cookie, and serves pages that no other page may frame', async () => {
    for (const path of ['', `?token=${TOKEN}`, 'api/appInfo']) {
      const res = await fetch(`${server.origin}${path}`, { method: path.startsWith('api') ? 'POST' : 'GET' });
      expect(res.headers.get('set-cookie'), path).toBeNull();
    }
    expect((await fetch(`${server.origin}?token=${TOKEN}`)).headers.get('x-frame-options')).toBe('DENY');
  });

  it.each([
    ['another port on 127.0.0.1', 'http://127.0.0.1:1'],
    ['a web site', 'https://evil.example'],
    ['a sandboxed page', 'null'],
    ['the same port over https', 'https://127.0.0.1:PORT'],
  ])('refuses a request from %s (Origin) with one line of JSON, token or not', async (_, origin) => {
    const headers = { ...auth, Origin: origin.replace('PORT', String(server.port)) };
    for (const path of ['api/appInfo', EVENTS_TICKET_PATH.slice(1)]) {
      const r = await post(server.origin, path, { headers, body: '{}' });
      expect(r.status).toBe(403);
      expect(Object.keys(r.body)).toEqual(['error']);
      expect(r.body.error).toMatchObject({
        code: 'unauthorized',
        message: expect.stringMatching(/^Origin '.*' is not this studio/),
      });
      expect(r.body.error!.message).not.toContain('\n');
    }
    expect((await fetch(`${server.origin}api/events`, { headers })).status).toBe(403);
  });

  it("answers a request from the studio's own page (its Origin) or without an Origin (a script)", async () => {
    for (const origin of [server.origin.slice(0, -1), `http://localhost:${server.port}`]) {
      expect(
        (await post(server.origin, 'api/appInfo', { headers: { ...auth, Origin: origin }, body: '{}' })).status,
      ).toBe(200);
    }
  });
});

describe('studio HTTP server: error answers', () => {
  const servers = useStudioServers();
  let server: StudioServer;
  let internal: unknown[];
  beforeAll(() => {
    ({ server, internal } = servers());
  });

  it('answers 400 with the fields at fault', async () => {
    const r = await post(server.origin, 'api/listFeatures', {
      headers: auth,
      body: JSON.stringify({ dictionary: 3, limit: 0 }),
    });
    expect(r.status).toBe(HTTP_STATUS.invalid_input);
    expect(r.body.error).toMatchObject({
      code: 'invalid_input',
      issues: [
        { field: 'dictionary', message: expect.any(String) },
        { field: 'limit', message: expect.any(String) },
      ],
    });
    const thrown = await post(server.origin, 'api/getRun', { headers: auth, body: JSON.stringify({ id: 'x' }) });
    expect(thrown).toEqual({
      status: 400,
      body: {
        error: {
          code: 'invalid_input',
          message: "field 'id': no run 'x'",
          issues: [{ field: 'id', message: "no run 'x'" }],
        },
      },
    });
    const broken = await post(server.origin, 'api/appInfo', { headers: auth, body: '{"a":' });
    expect(broken.status).toBe(400);
    expect(broken.body.error?.message).toMatch(/^request body: not valid JSON/);
  });

  it('answers 404 to an unknown method, 405 to a GET, 415 to a body that is not JSON, 413 to a huge one', async () => {
    const unknown = await post(server.origin, 'api/dropEverything', { headers: auth, body: '{}' });
    expect(unknown).toEqual({
      status: 404,
      body: { error: { code: 'unknown_method', message: "unknown method 'dropEverything'" } },
    });
    const get = await fetch(`${server.origin}api/appInfo`, { headers: auth });
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    const text = await post(server.origin, 'api/appInfo', {
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'text/plain' },
      body: '{}',
    });
    expect(text.status).toBe(415);
    const huge = await post(server.origin, 'api/appInfo', {
      headers: auth,
      body: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    expect((await post(server.origin, 'api/appInfo', { headers: auth, body: '{}' })).status).toBe(200); // still serving
  });

  it('answers 500 with one line and keeps the stack to itself', async () => {
    const r = await post(server.origin, 'api/listRuns', { headers: auth, body: '{}' });
    expect(r).toEqual({ status: 500, body: { error: { code: 'internal', message: 'disk on fire' } } });
    expect(internal).toHaveLength(1);
  });

  it('refuses requests that name another host (DNS rebinding)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/api/appInfo',
          method: 'POST',
          headers: { ...auth, Host: `evil.example:${server.port}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(403);
  });
});

describe('studio HTTP server: job events', () => {
  const servers = useStudioServers();
  let server: StudioServer;
  let hub: StudioServers['hub'];
  beforeAll(() => {
    ({ server, hub } = servers());
  });

  const ticket = async () =>
    ((await post(server.origin, EVENTS_TICKET_PATH.slice(1), { headers: auth })).body as { ticket: string }).ticket;

  it('opens the event stream with a ticket once: a spent, expired or made-up ticket answers 401', async () => {
    const events = `${server.origin}${EVENTS_PATH.slice(1)}`;
    const t = await ticket();
    expect(t).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const abort = new AbortController();
    const first = await fetch(`${events}?ticket=${t}`, { signal: abort.signal });
    expect(first.status).toBe(200);
    abort.abort();
    const again = await fetch(`${events}?ticket=${t}`);
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(/events ticket/);
    expect((await fetch(`${events}?ticket=${'x'.repeat(32)}`)).status).toBe(401);
    expect((await fetch(`${events}?ticket=${TOKEN}`)).status).toBe(401); // the token is not a ticket
    const late = await ticket();
    await new Promise((r) => setTimeout(r, 1700)); // the servers' tickets live 1.5 s
    expect((await fetch(`${events}?ticket=${late}`)).status).toBe(401);
  });

  it('streams job events as Server-Sent Events', async () => {
    const got: StudioEvent[] = [];
    const abort = new AbortController();
    const t = await ticket();
    await new Promise<void>(
      (opened) =>
        void readEvents(
          `${server.origin}${EVENTS_PATH.slice(1)}?ticket=${t}`,
          abort.signal,
          (e) => got.push(e),
          opened,
        ).catch(() => undefined),
    );
    const events: StudioEvent[] = [
      {
        jobId: 'j',
        kind: 'train',
        runId: 'r',
        message: { type: 'metrics', step: 1, tokens: 256, values: { loss: 2.5, k: null } },
      },
      {
        jobId: 'j',
        kind: 'train',
        runId: 'r',
        message: { type: 'ended', status: 'done', error: null, resumable: false },
      },
    ];
    for (const e of events) hub.emit(e);
    await expect.poll(() => got.length).toBe(2);
    abort.abort();
    expect(got).toEqual(events);
  });
});

describe("studio HTTP server: the UI's static files", () => {
  const servers = useStudioServers();
  let server: StudioServer;
  let withUi: StudioServer;
  beforeAll(() => {
    ({ server, withUi } = servers());
  });

  it('serves a placeholder page without a built UI (it holds no secret), and no cookie', async () => {
    const page = await fetch(`${server.origin}?token=${TOKEN}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`${API_PREFIX}&lt;method&gt;`);
    expect(page.headers.get('set-cookie')).toBeNull();
    expect((await fetch(server.origin)).status).toBe(200);
  });

  it('serves the built UI, client-side routes included, and nothing outside it', async () => {
    expect(await (await fetch(`${withUi.origin}?token=${TOKEN}`)).text()).toContain('studio ui');
    const js = await fetch(`${withUi.origin}assets/app.js`);
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(await (await fetch(`${withUi.origin}runs/abc`)).text()).toContain('studio ui');
    expect((await fetch(`${withUi.origin}assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${withUi.origin}..%2fsecret.txt`)).status).toBe(404); // the file exists one level up
    expect((await fetch(`${withUi.origin}%2e%2e/secret.txt`)).status).toBe(404);
  });
});

/** The path rule of serve, through its API: outside the home and the --allow folder (dataset) nothing opens. */
async function expectPathsConfined(client: StudioClient, home: string, dataset: string): Promise<void> {
  const outside = mkdtempSync(join(tmpdir(), 'sae-outside-'));
  writeFileSync(join(outside, 'secret.jsonl'), '{"text": "the secret of another user"}\n');
  writeFileSync(join(home, 'mine.jsonl'), '{"text": "my own data set, in the studio home"}\n');
  symlinkSync(outside, join(home, 'link-out'));
  const preview = (path: string) => client.previewDataset({ dataset: path, model: 'pdlm-4l-256' });
  const refusals: [string, string][] = [];
  for (const path of [
    join(outside, 'secret.jsonl'),
    join(home, 'link-out', 'secret.jsonl'),
    join(home, '..', outside.split('/').at(-1)!, 'secret.jsonl'),
    '/etc/passwd',
    join(outside, 'no-such.jsonl'),
  ]) {
    const r = await preview(path);
    expect(r.ok, path).toBe(false);
    const issues = r.ok ? [] : r.issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]!.field).toBe('dataset');
    expect(issues[0]!.message).toMatch(
      /: outside the folders this studio may open \(.*\); start 'sae-studio serve' with --allow/,
    );
    expect(issues[0]!.message).not.toContain('secret of another user');
    expect(issues[0]!.message).not.toContain('\n');
    refusals.push([path, issues[0]!.message]);
  }
  expect(refusals).toHaveLength(5);
  expect(await preview(join(home, 'mine.jsonl'))).toMatchObject({ ok: true, files: 1 });
  expect(await preview(dataset)).toMatchObject({ ok: true, files: 2 }); // an --allow folder
  expect(await preview('pdlm-corpus')).toMatchObject({ ok: true }); // a name, not a path
  const model = await client.validateModelFolder({ path: outside });
  expect(model).toMatchObject({
    ok: false,
    issues: [{ field: 'path', message: expect.stringContaining('outside') }],
  });
  const check = await client.validateTrainConfig({
    config: { ...smallTrainConfig(join(outside, 'secret.jsonl')), activation_cache: '/var/tmp' } as Record<
      string,
      unknown
    >,
  });
  expect(check.ok ? [] : check.issues.map((i) => i.field)).toEqual(['config.dataset', 'config.activation_cache']);
  const analysis = await client.startAnalysis({ dictionary: outside, dataset: 'pdlm-corpus' }).catch((e: unknown) => e);
  expect(analysis).toMatchObject({ code: 'invalid_input', issues: [{ field: 'dictionary' }] });
  const onText = await client.featuresOnText({ dictionary: outside, text: 'hello' }).catch((e: unknown) => e);
  expect(onText).toMatchObject({ code: 'invalid_input', issues: [{ field: 'dictionary' }] });
}

describe('sae-studio serve (the built CLI)', () => {
  let child: ChildProcess;
  let origin: string;
  let token: string;
  let stderr = '';
  let home: string;
  let dataset: string;
  beforeAll(async () => {
    home = tempHome();
    dataset = smallTextDataset();
    const args = ['serve', '--port', '0', '--backend', 'wasm', '--allow', dataset];
    child = spawn(process.execPath, [join(ROOT, 'bin', 'sae-studio.js'), ...args], {
      env: { ...process.env, SAE_STUDIO_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = await new Promise<URL>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
        if (m) resolve(new URL(m[1]!));
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    origin = `${url.origin}/`;
    token = url.searchParams.get('token')!;
  }, 60_000);
  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints a random 256-bit token', () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('opens datasets and models only in the home and the --allow folders, symbolic links followed', async () => {
    await expectPathsConfined(createStudioClient(httpTransport(origin, token)), home, dataset);
  });

  it('runs a training job over HTTP, streams its events, records the run, and stops on SIGTERM', async () => {
    const client = createStudioClient(httpTransport(origin, token));
    expect((await client.listModels({})).models.map((m) => m.name)).toContain('pdlm-4l-256');
    const events: StudioEvent[] = [];
    const ended = new Promise<void>((resolve) =>
      client.subscribe((e) => (events.push(e), e.message.type === 'ended' && resolve())),
    );
    await new Promise((r) => setTimeout(r, 200)); // the event stream connects
    const bad = await client
      .startTraining({ config: { sae: { hook_point_in: 'nowhere' }, total_training_tokens: 1024, batch_size: 256 } })
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({
      code: 'invalid_input',
      issues: [{ field: 'config.sae.hook_point_in' }, expect.anything()],
    });

    const { runId } = await client.startTraining({
      config: smallTrainConfig(dataset) as Record<string, unknown>,
      runId: 'web',
    });
    await ended;
    expect(
      events.filter((e) => e.message.type === 'metrics').map((e) => e.message.type === 'metrics' && e.message.step),
    ).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(events.at(-1)!.message).toEqual({ type: 'ended', status: 'done', error: null, resumable: false });
    const run = await client.getRun({ id: runId });
    expect(run.run).toMatchObject({ status: 'done', lastStep: 12 });
    expect(run.metrics).toHaveLength(12);
    expect((await client.listDictionaries({})).dictionaries.map((d) => d.name)).toEqual(['small']);

    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(stderr).toContain('SIGTERM: stopping');
  }, 90_000);

  it('rejects a bad port, an --allow that is no folder, and the engine command run by hand', () => {
    const allow = runCli(['serve', '--allow', join(home, 'nowhere')], { SAE_STUDIO_HOME: home });
    expect(allow.status).toBe(2);
    expect(errorLines(allow.stderr)).toEqual([`sae-studio: error: --allow '${join(home, 'nowhere')}': no such folder`]);
    const port = runCli(['serve', '--port', 'http'], { SAE_STUDIO_HOME: home });
    expect(port.status).toBe(2);
    expect(errorLines(port.stderr)).toEqual([
      "sae-studio: error: --port 'http': expected a port number from 0 to 65535 (0: any free port)",
    ]);
    const engine = runCli(['engine'], { SAE_STUDIO_HOME: home });
    expect(engine.status).toBe(2);
    expect(errorLines(engine.stderr)[0]).toContain("runs jobs for 'sae-studio serve' over Node IPC");
  });
});
