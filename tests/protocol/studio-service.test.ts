// The StudioService contract: the method table, the dispatcher's checks (requests, responses, errors) and the
// client over the in-memory transport, with a stub implementation (the real one is tested in tests/engine).
import { describe, expect, it } from 'vitest';
import type { StudioEvent } from '../../src/protocol/jobs';
import { dispatchStudioCall } from '../../src/protocol/service-dispatch';
import { ServiceError } from '../../src/protocol/service-error';
import { createInMemoryTransport, createStudioClient, type StudioEventSource } from '../../src/protocol/studio-client';
import { STUDIO_METHOD_NAMES, STUDIO_METHODS, type StudioServiceImpl } from '../../src/protocol/studio-service';

/** An implementation of the methods a test needs; the others throw (reported as internal errors). */
function stubService(methods: Partial<StudioServiceImpl>): StudioServiceImpl {
  return methods as StudioServiceImpl;
}

function eventHub() {
  const listeners = new Set<(e: StudioEvent) => void>();
  const source: StudioEventSource = { subscribe: (l) => (listeners.add(l), () => listeners.delete(l)) };
  return { source, emit: (e: StudioEvent) => listeners.forEach((l) => l(e)), listeners };
}

const PAGE = { dictionary: 'd', analysis: null, total: 0, items: [] };

describe('StudioService contract: the method table', () => {
  it('lists every method of the brief with a request and a response schema', () => {
    expect(STUDIO_METHOD_NAMES).toEqual(
      expect.arrayContaining([
        'appInfo',
        'listModels',
        'validateModelFolder',
        'listDictionaries',
        'listFeatures',
        'getFeature',
        'setInterpretation',
        'addBookmark',
        'removeBookmark',
        'listBookmarks',
        'featuresOnText',
        'listRuns',
        'getRun',
        'validateTrainConfig',
        'startTraining',
        'cancelRun',
        'resumeRun',
        'startAnalysis',
      ]),
    );
    for (const name of STUDIO_METHOD_NAMES) {
      expect(typeof STUDIO_METHODS[name].request.safeParse, name).toBe('function');
      expect(typeof STUDIO_METHODS[name].response.safeParse, name).toBe('function');
    }
  });
});

describe('StudioService contract: request checks in the dispatcher', () => {
  it('fills defaults before the implementation sees a request', async () => {
    let seen: unknown;
    const impl = stubService({ listFeatures: async (r) => ((seen = r), PAGE) });
    expect(await dispatchStudioCall(impl, 'listFeatures', { dictionary: 'd' })).toEqual({ ok: true, result: PAGE });
    expect(seen).toEqual({ dictionary: 'd', sort: 'index', limit: 100, offset: 0 });
  });

  it('answers bad requests with every field at fault', async () => {
    const r = await dispatchStudioCall(stubService({}), 'listFeatures', {
      dictionary: '',
      limit: 0,
      sort: 'size',
      extra: 1,
    });
    if (r.ok) expect.fail(`expected the call to fail, got ${JSON.stringify(r.result)}`);
    expect(r.error.code).toBe('invalid_input');
    expect(r.error.issues?.map((i) => i.field).sort()).toEqual(['dictionary', 'extra', 'limit', 'sort']);
    expect(r.error.message).toMatch(/^field '(dictionary|extra|limit|sort)': .* \(and 3 more\)$/);
  });

  it('checks cross-field rules and nested paths', async () => {
    const freq = await dispatchStudioCall(stubService({}), 'listFeatures', {
      dictionary: 'd',
      minFrequency: 0.5,
      maxFrequency: 0.1,
    });
    expect(freq).toMatchObject({
      ok: false,
      error: { issues: [{ field: 'minFrequency', message: 'must not exceed maxFrequency' }] },
    });
    const tags = await dispatchStudioCall(stubService({}), 'addBookmark', {
      dictionary: 'd',
      index: 1,
      tags: ['ok', ''],
    });
    expect(tags).toMatchObject({ ok: false, error: { issues: [{ field: 'tags.1' }] } });
  });

  it('reports unknown methods, including inherited object keys', async () => {
    for (const name of ['dropTables', 'constructor', '__proto__', 'toString']) {
      expect(await dispatchStudioCall(stubService({}), name, {})).toEqual({
        ok: false,
        error: { code: 'unknown_method', message: `unknown method '${name}'` },
      });
    }
  });
});

describe('StudioService contract: errors and responses in the dispatcher', () => {
  it('passes ServiceErrors through, and reduces other errors to one internal line', async () => {
    const seen: unknown[] = [];
    const impl = stubService({
      getRun: async () => {
        throw ServiceError.invalidInput([{ field: 'id', message: 'no such run' }]);
      },
      listRuns: async () => {
        throw new Error('database is locked\n    at secret/stack.ts:1');
      },
    });
    expect(await dispatchStudioCall(impl, 'getRun', { id: 'x' })).toEqual({
      ok: false,
      error: {
        code: 'invalid_input',
        message: "field 'id': no such run",
        issues: [{ field: 'id', message: 'no such run' }],
      },
    });
    expect(await dispatchStudioCall(impl, 'listRuns', {}, { onInternalError: (_, e) => seen.push(e) })).toEqual({
      ok: false,
      error: { code: 'internal', message: 'database is locked' },
    });
    expect(seen).toHaveLength(1);
  });

  it('refuses a response that breaks the contract (an internal error, never silently passed on)', async () => {
    const impl = stubService({ appInfo: async () => ({ name: '', version: '1' }) });
    const r = await dispatchStudioCall(impl, 'appInfo', {});
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'internal', message: expect.stringContaining("appInfo breaks the contract: field 'name'") },
    });
  });
});

describe('StudioService contract: the client over the in-memory transport', () => {
  it('gives a typed client over the in-memory transport, with JSON on the way', async () => {
    const hub = eventHub();
    const impl = stubService({
      appInfo: async () => ({ name: 'SAE Studio', version: '0.1.0' }),
      cancelRun: async ({ id }) => ({ cancelling: id === 'r1' }),
      getFeature: async () => {
        throw ServiceError.invalidInput([{ field: 'index', message: 'out of range' }]);
      },
    });
    const client = createStudioClient(createInMemoryTransport(impl, hub.source));
    expect(await client.appInfo({})).toEqual({ name: 'SAE Studio', version: '0.1.0' });
    expect(await client.cancelRun({ id: 'r1' })).toEqual({ cancelling: true });
    const err = await client.getFeature({ dictionary: 'd', index: 9 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect(err).toMatchObject({ code: 'invalid_input', issues: [{ field: 'index', message: 'out of range' }] });

    const got: StudioEvent[] = [];
    const stop = client.subscribe((e) => got.push(e));
    const event: StudioEvent = {
      jobId: 'j',
      kind: 'train',
      runId: 'r1',
      message: { type: 'metrics', step: 1, tokens: 256, values: { loss: 2 } },
    };
    hub.emit(event);
    stop();
    hub.emit(event);
    expect(got).toEqual([event]);
    expect(hub.listeners.size).toBe(0);
  });
});
