// `sae-studio sync push|pull|status --mongo URI`: the store to and from the lab's lm-saes MongoDB. The password
// comes from SAE_STUDIO_MONGO_PASSWORD or a prompt (a URI that carries one is accepted, and printed redacted).
import { createInterface } from 'node:readline';
import { InputError } from '../../core/errors';
import { studioHome } from '../../core/home';
import { openStore } from '../../core/store';
import { redactUri, uriCredentials, type MongoTarget } from '../../core/sync/connection';
import { mongoStatus, pullFromMongo, pushToMongo, type SyncSummary } from '../../core/sync/mongo-sync';
import { SYNC_COLLECTION_GROUPS, type SyncCollectionGroup } from '../../core/sync/sink';
import { DEFAULT_DATABASE } from '../../core/sync/dump-folder';
import { requireOption, type Command } from '../command';
import { progressBar } from '../progress';

export const PASSWORD_ENV = 'SAE_STUDIO_MONGO_PASSWORD';

/** Reads a line from the terminal without echoing it. */
async function promptPassword(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const muted = rl as unknown as { _writeToOutput: (s: string) => void };
  process.stderr.write(question);
  muted._writeToOutput = () => undefined;
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

export function parseOnly(value: string | undefined): SyncCollectionGroup[] | undefined {
  if (value === undefined) return undefined;
  const groups = value.split(',').map((s) => s.trim());
  for (const g of groups)
    if (!(SYNC_COLLECTION_GROUPS as readonly string[]).includes(g))
      throw new InputError(`--only: '${g}' is not one of ${SYNC_COLLECTION_GROUPS.join(', ')}`);
  return groups as SyncCollectionGroup[];
}

/** The connection the options describe, the password asked for when the URI names a user without one. */
export async function mongoTarget(
  values: Record<string, string | boolean | undefined>,
  uri: string,
): Promise<MongoTarget> {
  const creds = uriCredentials(uri);
  let password: string | undefined;
  if (creds.user !== undefined && !creds.hasPassword) {
    password = process.env[PASSWORD_ENV];
    if (password === undefined) {
      if (!process.stdin.isTTY)
        throw new InputError(
          `--mongo ${redactUri(uri)} names user '${creds.user}' without a password: set ${PASSWORD_ENV}`,
        );
      password = await promptPassword(`Password for ${creds.user} at ${redactUri(uri)}: `);
    }
  }
  const timeout = values['timeout-ms'] === undefined ? 10_000 : Number(values['timeout-ms']);
  if (!Number.isInteger(timeout) || timeout <= 0)
    throw new InputError(
      `--timeout-ms is '${String(values['timeout-ms'])}', expected a positive whole number of milliseconds`,
    );
  const pathDb = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(uri)?.[1];
  return {
    uri,
    db: (values.db as string | undefined) ?? (pathDb ? decodeURIComponent(pathDb) : DEFAULT_DATABASE),
    ...(password !== undefined ? { password } : {}),
    serverSelectionTimeoutMS: timeout,
    tls: {
      ...(values.tls ? { tls: true } : {}),
      ...(values['tls-ca-file'] ? { tls: true, tlsCAFile: values['tls-ca-file'] as string } : {}),
      ...(values['tls-certificate-key-file']
        ? { tls: true, tlsCertificateKeyFile: values['tls-certificate-key-file'] as string }
        : {}),
      ...(values['tls-allow-invalid-certificates'] ? { tlsAllowInvalidCertificates: true } : {}),
    },
  };
}

function printSummary(s: SyncSummary): void {
  const verb = s.direction === 'push' ? 'wrote' : 'read';
  const per = Object.entries(s.perCollection)
    .filter(([, n]) => n > 0)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  process.stdout.write(
    `${s.direction} ${s.target}: ${verb} ${s.writes} records${per ? ` (${per})` : ''}` +
      `${s.direction === 'push' ? `, ${s.files} GridFS files` : ''}; ${s.unchanged} unchanged; ` +
      `${s.conflicts} conflicts${s.heldBackBookmarks ? `; ${s.heldBackBookmarks} bookmarks of unanalysed features held back` : ''}; ` +
      `${s.seconds.toFixed(1)} s\n`,
  );
}

export const syncCommand: Command = {
  name: 'sync',
  summary: "Push the store to the lab's lm-saes MongoDB, pull it back, or compare the two.",
  usage:
    'sync push|pull|status --mongo URI [--db NAME] [--series S] [--only dictionaries,analyses,features,bookmarks,circuits]',
  positionals: 1,
  options: {
    mongo: { type: 'string', valueName: 'URI', help: `mongodb:// URI; the password from ${PASSWORD_ENV} or a prompt` },
    db: { type: 'string', valueName: 'NAME', help: `database (default the URI's, else ${DEFAULT_DATABASE})` },
    series: {
      type: 'string',
      valueName: 'S',
      help: "only dictionaries of this lm-saes series (the server's SAE_SERIES)",
    },
    only: { type: 'string', valueName: 'LIST', help: `comma-separated: ${SYNC_COLLECTION_GROUPS.join(', ')}` },
    'gridfs-weights': { type: 'boolean', help: "push: also the dictionaries' weight files, in GridFS" },
    full: { type: 'boolean', help: 'every record, not only those changed since the last sync' },
    'timeout-ms': { type: 'string', valueName: 'MS', help: 'server selection timeout (default 10000)' },
    tls: { type: 'boolean', help: 'connect with TLS' },
    'tls-ca-file': { type: 'string', valueName: 'FILE', help: 'CA certificates (PEM)' },
    'tls-certificate-key-file': { type: 'string', valueName: 'FILE', help: 'client certificate and key (PEM)' },
    'tls-allow-invalid-certificates': { type: 'boolean', help: 'accept any server certificate (testing only)' },
    json: { type: 'boolean', help: 'print the summary or status as JSON' },
  },
  async run(values, positionals) {
    const action = positionals[0];
    if (action !== 'push' && action !== 'pull' && action !== 'status')
      throw new InputError(`sync: expected push, pull or status (got '${action ?? ''}')`);
    const target = await mongoTarget(values, requireOption(this, values, 'mongo'));
    const home = studioHome();
    const store = openStore({ dir: home.root });
    const bar = progressBar(action);
    const options = {
      series: values.series as string | undefined,
      only: parseOnly(values.only as string | undefined),
      gridfsWeights: Boolean(values['gridfs-weights']),
      full: Boolean(values.full),
      home,
      onProgress: (done: number, total: number) => bar.update(done, total, 'records'),
    };
    try {
      if (action === 'status') {
        const status = await mongoStatus(store, target, options);
        process.stdout.write(
          values.json
            ? `${JSON.stringify(status, null, 2)}\n`
            : `${status.target}\n${Object.entries(status.local)
                .map(
                  ([c, l]) =>
                    `  ${c.padEnd(12)} local ${l.records} (${l.pending} to push)  remote ${status.remote[c] ?? 0}`,
                )
                .join('\n')}\n`,
        );
        return;
      }
      const summary =
        action === 'push' ? await pushToMongo(store, target, options) : await pullFromMongo(store, target, options);
      bar.done();
      if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else printSummary(summary);
    } finally {
      store.close();
    }
  },
};
