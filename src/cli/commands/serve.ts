// `sae-studio serve`: the studio for a browser — the StudioService over HTTP on 127.0.0.1 with a session token, job
// events as Server-Sent Events, jobs in engine child processes — and `sae-studio engine`, the process of one job.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../../core/errors';
import { parseBackendRequest } from '../../core/tensor/backend';
import { runEngine } from '../../engine/job-runner';
import { nodeForkLauncher } from '../../engine/node-fork-launcher';
import { nodeParentPort } from '../../engine/parent-port';
import { openStudio } from '../../engine/studio';
import { BACKEND_OPTION, type Command } from '../command';
import { startStudioServer } from '../server/http-server';
import { engineEntry, rendererDir } from '../server/install-layout';
import { newSessionToken } from '../server/session-token';

/** How long running trainings get to write their checkpoint when the server stops. */
const SHUTDOWN_GRACE_MS = 60_000;

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new InputError(`--port '${value}': expected a port number from 0 to 65535 (0: any free port)`);
  return port;
}

/** The --allow folders: each one must be an existing folder. */
export function allowedFolders(value: unknown): string[] {
  const given = value === undefined ? [] : Array.isArray(value) ? (value as string[]) : [String(value)];
  return given.map((folder) => {
    let isDir = false;
    try {
      isDir = statSync(folder).isDirectory();
    } catch {
      throw new InputError(`--allow '${folder}': no such folder`);
    }
    if (!isDir) throw new InputError(`--allow '${folder}': is a file, expected a folder`);
    return resolve(folder);
  });
}

export const serveCommand: Command = {
  name: 'serve',
  summary:
    'Serve the studio to a browser on 127.0.0.1: its UI, JSON API and live job events (protected by a session token).',
  usage: 'serve [--port P] [--allow FOLDER]... [--backend NAME]',
  options: {
    allow: {
      type: 'string',
      multiple: true,
      valueName: 'FOLDER',
      help: 'a folder whose models and datasets the studio may open (repeatable); always: the studio home',
    },
    port: { type: 'string', valueName: 'P', help: 'port on 127.0.0.1 (default 0: any free port)' },
    backend: {
      ...BACKEND_OPTION.backend!,
      help: 'backend of the work done in the server itself (features on a text): auto, webgpu, wasm, cpu; jobs use their own',
    },
  },
  async run(values) {
    const port = values.port === undefined ? 0 : parsePort(String(values.port));
    const backend = parseBackendRequest(values.backend as string | undefined, '--backend');
    const warn = (message: string) => process.stderr.write(`sae-studio serve: ${message}\n`);
    const allowFolders = allowedFolders(values.allow);
    const studio = openStudio({
      launcher: nodeForkLauncher(engineEntry()),
      backend,
      allowFolders,
      ownerName: 'sae-studio serve',
      onWarning: warn,
      appInfo: { name: 'SAE Studio', version: process.env.npm_package_version ?? '0.1.0' },
    });
    const { home, service, supervisor } = studio;
    let server;
    try {
      server = await startStudioServer({
        impl: service,
        events: supervisor,
        token: newSessionToken(),
        port,
        rendererDir: rendererDir(),
        onInternalError: (method, err) =>
          warn(`internal error in ${method}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
      });
    } catch (err) {
      await studio.close(0);
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
        throw new InputError(`--port ${port}: the port is in use`);
      throw err;
    }
    // Only once this server is up, and only as the home's owner: a second serve on this home (even one whose port
    // turned out to be taken) leaves the first one's live runs alone.
    const { marked } = studio.markInterruptedRuns();
    if (marked.length > 0)
      warn(`marked ${marked.length} interrupted run(s) as failed (resumable): ${marked.join(', ')}`);
    process.stdout.write(`SAE Studio is serving ${home.root} at ${server.url}\n`);
    process.stderr.write(
      `models and datasets may be opened from: ${[home.root, ...allowFolders].join(', ')} (add folders with --allow)\n` +
        'open that URL in a browser (it carries the session token); Ctrl-C stops the server\n',
    );

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    process.once(signal, () => process.exit(130)); // a second one stops at once
    process.stderr.write(`\n${signal}: stopping (running trainings write a checkpoint first)…\n`);
    await server.close();
    await studio.close(SHUTDOWN_GRACE_MS);
  },
};

export const engineCommand: Command = {
  name: 'engine',
  summary:
    'Run one training or analysis job for a supervisor over Node IPC (started by `serve` and the app, not by hand).',
  usage: 'engine',
  options: {},
  async run() {
    if (!process.send)
      throw new InputError(
        "'sae-studio engine' runs jobs for 'sae-studio serve' over Node IPC; it is not started by hand",
      );
    const code = await runEngine(nodeParentPort());
    // The job's outcome already went to the supervisor; the status only tells a crash from a clean end.
    if (code !== 0) process.exit(code);
  },
};
