// A real `sae-studio serve` on a home, for the concurrency tests: its origin and token, an authenticated POST of one
// API method with its latency, and a stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/fixtures';

export interface ServeProcess {
  child: ChildProcess;
  /** POSTs /api/<method>; resolves with the HTTP status, the JSON body and how long the answer took. */
  call(method: string, body: unknown): Promise<{ status: number; json: unknown; ms: number }>;
  stop(): Promise<void>;
}

export async function startServe(home: string, args: string[] = []): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'sae-studio.js'), 'serve', '--backend', 'wasm', '--port', '0', ...args],
    { env: { ...process.env, SAE_STUDIO_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<URL>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
      if (m) resolve(new URL(m[1]!));
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  const token = url.searchParams.get('token')!;
  return {
    child,
    async call(method, body) {
      const t0 = performance.now();
      const res = await fetch(`${url.origin}/api/${method}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json: unknown = await res.json();
      return { status: res.status, json, ms: performance.now() - t0 };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}
