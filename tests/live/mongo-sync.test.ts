// The sync against a real MongoDB, run only when MONGODB_URI is set (e.g. MONGODB_URI=mongodb://localhost:27017
// npx vitest run tests/live); otherwise the suite is reported as skipped, with the reason in its name. Each run
// uses a fresh database (sae_studio_live_<random>) and drops it afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors';
import { getInterpretation, openStore, setInterpretation } from '../../src/core/store';
import { connectMongo, uriCredentials } from '../../src/core/sync/connection';
import { assembleFiles } from '../../src/core/sync/gridfs';
import { pullFromMongo, pushToMongo } from '../../src/core/sync/mongo-sync';
import { SCHEMAS } from '../../src/core/sync/schema';
import { listConflicts } from '../../src/core/sync/sync-state';
import { buildFullStore, snapshotStore } from '../core/sync/store-fixture';

const URI = process.env.MONGODB_URI;
const SKIP_REASON = 'skipped: MONGODB_URI is not set (point it at a mongod to run the live sync suite)';
if (!URI) console.warn(`tests/live/mongo-sync.test.ts: ${SKIP_REASON}`);

const dbName = `sae_studio_live_${randomBytes(4).toString('hex')}`;
const target = () => ({ uri: URI!, db: dbName, serverSelectionTimeoutMS: 5000 });
const dirs: string[] = [];
const newHome = () => {
  const d = mkdtempSync(join(tmpdir(), 'sae-live-'));
  dirs.push(d);
  return d;
};

/** Documents sharing an lm-saes identity (must be none: the unique indexes and upserts prevent them). */
async function duplicates(db: Db): Promise<number> {
  let n = 0;
  for (const [collection, { keys }] of Object.entries(SCHEMAS)) {
    const id = Object.fromEntries(keys.map((k) => [k, `$${k}`]));
    n += (
      await db
        .collection(collection)
        .aggregate([{ $group: { _id: id, n: { $sum: 1 } } }, { $match: { n: { $gt: 1 } } }])
        .toArray()
    ).length;
  }
  const chunks = await db
    .collection('fs.chunks')
    .aggregate([{ $group: { _id: { f: '$files_id', n: '$n' }, n: { $sum: 1 } } }, { $match: { n: { $gt: 1 } } }])
    .toArray();
  return n + chunks.length;
}

/** Every GridFS file has exactly its chunks (assembleFiles throws otherwise); returns how many. */
async function checkFiles(db: Db): Promise<number> {
  const files = await db.collection('fs.files').find().toArray();
  const chunks = await db.collection('fs.chunks').find().toArray();
  return assembleFiles(files, chunks).size;
}

/** A push that dies half-way (and a GridFS upload cut before its fs.files document), then a push that completes it. */
async function killedPush(client: MongoClient, db: Db): Promise<void> {
  const home = newHome();
  buildFullStore(home);
  const t = { ...target(), db: `${dbName}_kill` };
  const killDb = client.db(t.db);
  const store = openStore({ dir: home });
  try {
    const killed = await pushToMongo(store, t, {
      onProgress: (done, total) => {
        if (done === Math.floor(total / 2)) throw new Error('killed');
      },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((killed as Error).message).toContain('killed');
    // What a kill inside a GridFS upload leaves: chunks without their fs.files document.
    const victim = await killDb.collection('fs.files').findOne({});
    await killDb.collection('fs.files').deleteOne({ _id: victim!._id });
    store.db
      .prepare("DELETE FROM sync_records WHERE collection = 'local:fs.files' AND record_key = ?")
      .run(victim!._id.toHexString());
    const resumed = await pushToMongo(store, t);
    expect(resumed.writes).toBeGreaterThan(0);
    expect(await duplicates(killDb)).toBe(0);
    expect(await checkFiles(killDb)).toBe(await killDb.collection('fs.files').countDocuments());
    expect(await killDb.collection('features').countDocuments()).toBe(await db.collection('features').countDocuments());
    expect(await killDb.collection('fs.files').countDocuments()).toBe(await db.collection('fs.files').countDocuments());
  } finally {
    store.close();
    await killDb.dropDatabase();
  }
}

describe.skipIf(!URI)(`live MongoDB sync${URI ? '' : ` (${SKIP_REASON})`}`, () => {
  let client: MongoClient;
  let db: Db;
  let source = '';

  beforeAll(async () => {
    source = newHome();
    buildFullStore(source);
    client = await MongoClient.connect(URI!, { serverSelectionTimeoutMS: 5000 });
    db = client.db(dbName);
  });
  afterAll(async () => {
    await db?.dropDatabase();
    await client?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('pushes every record, then pushes again with zero writes', async () => {
    const store = openStore({ dir: source });
    try {
      const first = await pushToMongo(store, target());
      expect(first.writes).toBeGreaterThan(0);
      expect(await db.collection('saes').countDocuments()).toBe(5);
      expect(await db.collection('analyses').countDocuments()).toBe(6);
      expect(await db.collection('sae_sets').countDocuments()).toBe(1);
      expect(await db.collection('circuits').countDocuments()).toBe(2);
      const second = await pushToMongo(store, target());
      expect(second).toMatchObject({ writes: 0, files: 0, conflicts: 0 });
      expect(second.unchanged).toBeGreaterThan(0);
      // Even ignoring the sync state, the server finds nothing to change.
      expect((await pushToMongo(store, target(), { full: true })).writes).toBe(0);
      expect(await duplicates(db)).toBe(0);
    } finally {
      store.close();
    }
  });

  it('completes a push killed half-way with no duplicates and no half-written file', () => killedPush(client, db));

  it('pulls into an empty store that then equals the source, every table', async () => {
    const home = newHome();
    const store = openStore({ dir: home });
    try {
      const pulled = await pullFromMongo(store, target());
      expect(pulled.writes).toBeGreaterThan(0);
    } finally {
      store.close();
    }
    expect(snapshotStore(home)).toEqual(snapshotStore(source));
  });

  it('settles interpretations edited on both sides: newest wins, the other in the conflict log', async () => {
    const store = openStore({ dir: source });
    try {
      // Remote edited in lm-saes's UI (no time: counts as now), local edited earlier → the remote text wins on push.
      setInterpretation(store, 'toy-sae', 1, 'local edit, older');
      await db
        .collection('features')
        .updateOne(
          { sae_name: 'toy-sae', sae_series: 'default', index: 1 },
          { $set: { interpretation: { text: 'lab edit' } } },
        );
      const push = await pushToMongo(store, target());
      expect(push.conflicts).toBe(1);
      expect(getInterpretation(store, 'toy-sae', 1)?.text).toBe('lab edit');
      expect(listConflicts(store)[0]).toMatchObject({
        field: 'interpretation',
        winner: 'remote',
        local_value: 'local edit, older',
        remote_value: 'lab edit',
      });
      // Remote edited long ago (timed by SAE Studio elsewhere), local edited now → the local text wins on pull.
      await db.collection('features').updateOne(
        { sae_name: 'toy-sae', sae_series: 'default', index: 1 },
        {
          $set: {
            interpretation: { text: 'old lab' },
            studio_interpretation: { text: 'old lab', updated_at: '2001-01-01T00:00:00.000Z', detail: null },
          },
        },
      );
      setInterpretation(store, 'toy-sae', 1, 'local edit, newer');
      const pull = await pullFromMongo(store, target());
      expect(pull.conflicts).toBe(1);
      expect(getInterpretation(store, 'toy-sae', 1)?.text).toBe('local edit, newer');
      expect(listConflicts(store)[0]).toMatchObject({
        winner: 'local',
        local_value: 'local edit, newer',
        remote_value: 'old lab',
      });
    } finally {
      store.close();
    }
  });

  it('refuses wrong credentials in one line, and the password is nowhere in the home folder', async () => {
    const wrong = URI!.replace(/^(mongodb(?:\+srv)?:\/\/)(?:[^@/]*@)?/, '$1nobody-here:wrong-Pa55@');
    const err = await connectMongo({ uri: wrong, db: dbName, serverSelectionTimeoutMS: 5000 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/refused the credentials of user 'nobody-here' \(authentication failed\)$/);
    expect((err as Error).message).not.toContain('wrong-Pa55');
    const password = /^mongodb(?:\+srv)?:\/\/[^:@/]*:([^@/]+)@/.exec(URI!)?.[1];
    expect(uriCredentials(wrong).hasPassword).toBe(true);
    const secrets = ['wrong-Pa55', ...(password ? [decodeURIComponent(password)] : [])];
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
    for (const f of files(source))
      for (const secret of secrets) expect(readFileSync(f).includes(secret), f).toBe(false);
  });
});
