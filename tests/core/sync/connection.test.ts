// Credentials and connection errors against real sockets: the password never shows in what we print, an
// unreachable server (a closed local port) fails in one line within the server-selection timeout, and the
// interpretation conflict rule (newest wins) decides each case of who changed what since the last sync.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors';
import { resolveInterpretation } from '../../../src/core/sync/conflict-rule';
import { connectMongo, redactUri, targetKey } from '../../../src/core/sync/connection';
import { textHash } from '../../../src/core/sync/sync-state';
import { closedPort } from './closed-port';

describe('redactUri', () => {
  it.each([
    [
      'mongodb://alice:s3cr%40t@db.lab:27017/mechinterp?authSource=admin',
      'mongodb://alice:***@db.lab:27017/mechinterp?authSource=admin',
    ],
    [
      'mongodb+srv://bob:pw@cluster0.example.net/?retryWrites=true',
      'mongodb+srv://bob:***@cluster0.example.net/?retryWrites=true',
    ],
    ['mongodb://h1:27017,h2:27018/?replicaSet=rs0', 'mongodb://h1:27017,h2:27018/?replicaSet=rs0'],
    [
      'mongodb://carol@h/?authMechanismProperties=AWS_SESSION_TOKEN:abc',
      'mongodb://carol@h/?authMechanismProperties=***',
    ],
    ['http://alice:pw@h', '<a MongoDB URI that does not parse>'],
  ])('%s → %s', (uri, redacted) => {
    expect(redactUri(uri)).toBe(redacted);
  });

  it('keys sync state by server and database, never by password', () => {
    expect(targetKey({ uri: 'mongodb://alice:pw@db.lab:27017/x?tls=true', db: 'mechinterp' })).toBe(
      'mongodb://alice@db.lab:27017/mechinterp',
    );
  });
});

describe('connecting', () => {
  it('reports an unreachable server in one line within serverSelectionTimeoutMS, without the password', async () => {
    const port = await closedPort();
    const uri = `mongodb://alice:hunter2-secret@127.0.0.1:${port}/?directConnection=true`;
    const start = Date.now();
    const err = await connectMongo({ uri, db: 'mechinterp', serverSelectionTimeoutMS: 1500 }).then(
      () => null,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - start;
    expect(err).toBeInstanceOf(InputError);
    const message = (err as Error).message;
    expect(message).toMatch(
      new RegExp(
        `^cannot reach MongoDB at mongodb://alice:\\*\\*\\*@127\\.0\\.0\\.1:${port}/\\?directConnection=true within 1500 ms \\(.*ECONNREFUSED`,
      ),
    );
    expect(message).not.toContain('\n');
    expect(message).not.toContain('hunter2');
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(4000);
  });

  it('refuses a URI that is not mongodb://, showing none of it', async () => {
    const err = await connectMongo({ uri: 'postgres://u:topsecret@h/db', db: 'x' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe(
      '--mongo: <a MongoDB URI that does not parse> is not a mongodb:// or mongodb+srv:// URI',
    );
  });
});

describe('interpretation conflict rule', () => {
  const now = '2026-01-01T12:00:00.000Z';
  const side = (text: string | null, updatedAt: string | null = null) => ({ text, updatedAt });
  const synced = textHash('old');

  it('does nothing when both sides agree, and takes the side that changed when only one did', () => {
    expect(resolveInterpretation(side('same'), side('same'), synced, now)).toEqual({ apply: 'none' });
    expect(resolveInterpretation(side('new', now), side('old'), synced, now)).toEqual({
      apply: 'local',
      conflict: false,
    });
    expect(resolveInterpretation(side('old', now), side('lab edit'), synced, now)).toEqual({
      apply: 'remote',
      conflict: false,
    });
    expect(resolveInterpretation(side(null), side('lab'), undefined, now)).toEqual({
      apply: 'remote',
      conflict: false,
    });
  });

  it('lets the newest edit win when both changed; an untimed lab edit counts as seen now', () => {
    expect(
      resolveInterpretation(
        side('mine', '2026-01-01T11:00:00.000Z'),
        side('theirs', '2026-01-01T10:00:00.000Z'),
        synced,
        now,
      ),
    ).toMatchObject({
      apply: 'local',
      conflict: true,
    });
    expect(
      resolveInterpretation(
        side('mine', '2026-01-01T09:00:00.000Z'),
        side('theirs', '2026-01-01T10:00:00.000Z'),
        synced,
        now,
      ),
    ).toMatchObject({
      apply: 'remote',
      conflict: true,
      remoteTime: '2026-01-01T10:00:00.000Z',
    });
    expect(
      resolveInterpretation(side('mine', '2026-01-01T11:00:00.000Z'), side('edited in lm-saes'), synced, now),
    ).toMatchObject({
      apply: 'remote',
      conflict: true,
      remoteTime: now,
    });
  });
});
