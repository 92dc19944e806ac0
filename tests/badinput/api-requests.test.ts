// The bad-input table of HTTP API requests (see api-requests.cases.ts): one `sae-studio serve` (the built CLI) on a
// copy of the seeded home, every request sent to it in turn; each answer must be the case's 4xx with one line of
// JSON error naming the culprit, with the home's files and the store's rows as they were.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededHome, storeDigest, treeDigest, writeOutcomes, type CaseOutcome } from '../helpers/bad-input';
import { ROOT } from '../helpers/fixtures';
import { ALLOWED, API_CASES, type ApiCase } from './api-requests.cases';

/** The home's files, less SQLite's shared-memory index and WAL (their bytes move on reads; the rows are compared). */
function homeFiles(dir: string): Record<string, string> {
  return Object.fromEntries(Object.entries(treeDigest(dir)).filter(([p]) => !/studio\.db-(shm|wal)$/.test(p)));
}

async function send(origin: string, token: string, allowed: string, c: ApiCase) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...c.headers };
  if (!c.noAuth && !headers.Authorization) headers.Authorization = `Bearer ${token}`;
  const body =
    c.body === undefined
      ? undefined
      : typeof c.body === 'string'
        ? c.body
        : JSON.stringify(c.body).replaceAll(ALLOWED, allowed);
  const res = await fetch(`${origin}${c.path}`, { method: c.method ?? 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

function judge(c: ApiCase, r: { status: number; text: string }, same: boolean): string | null {
  if (r.status !== c.status) return `status ${r.status}, expected ${c.status}: ${r.text.slice(0, 300)}`;
  let message: unknown;
  try {
    const json = JSON.parse(r.text) as {
      error?: { message?: unknown };
      ok?: boolean;
      issues?: { message?: unknown }[];
    };
    message = c.check ? json.ok === false && json.issues?.[0]?.message : json.error?.message;
  } catch {
    return `not JSON: ${r.text.slice(0, 300)}`;
  }
  if (typeof message !== 'string') return `no error.message: ${r.text.slice(0, 300)}`;
  if (message.includes('\n') || /\bat .*:\d+:\d+/.test(message)) return `not one line: ${message}`;
  if (!c.culprit.test(message)) return `the message does not name ${c.culprit}: ${message}`;
  return same ? null : 'the home or the store changed';
}

describe('bad input: api-requests', () => {
  const outcomes: CaseOutcome[] = [];
  let child: ChildProcess;
  let origin = '';
  let token = '';
  let root = '';
  let home = '';
  let allowed = '';
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'sae-badinput-api-'));
    const seed = seededHome();
    home = join(root, 'home');
    cpSync(seed, home, { recursive: true });
    rmSync(seed, { recursive: true, force: true });
    allowed = join(root, 'allowed');
    mkdirSync(allowed);
    child = spawn(process.execPath, [join(ROOT, 'bin', 'sae-studio.js'), 'serve', '--port', '0', '--allow', allowed], {
      env: { ...process.env, SAE_STUDIO_HOME: home, SAE_STUDIO_BACKEND: 'cpu' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await new Promise<URL>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
        if (m) resolve(new URL(m[1]!));
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    origin = `${url.origin}/`;
    token = url.searchParams.get('token')!;
  }, 60_000);
  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    writeOutcomes('api-requests', outcomes);
    rmSync(root, { recursive: true, force: true });
  });

  it('has distinct case names', () => {
    expect(new Set(API_CASES.map((c) => c.name)).size).toBe(API_CASES.length);
  });

  it.each(API_CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const before = { tree: homeFiles(root), store: storeDigest(home) };
    const r = await send(origin, token, allowed, c);
    await new Promise((resolve) => setTimeout(resolve, 50)); // a write the answer did not wait for
    const after = { tree: homeFiles(root), store: storeDigest(home) };
    const same = JSON.stringify(before) === JSON.stringify(after);
    const problem = judge(c, r, same);
    outcomes.push({
      area: 'api-requests',
      name: c.name,
      handled: problem === null,
      ...(problem ? { detail: problem } : {}),
    });
    expect(problem, c.name).toBeNull();
  });
});
