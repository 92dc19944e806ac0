// Training runs: creation, status changes, metrics appended in batches, checkpoints, recent-run listing.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors';
import {
  addRunCheckpoint,
  appendRunMetrics,
  createRun,
  getRun,
  getRunMetrics,
  listRecentRuns,
  openStore,
  updateRunStatus,
} from '../../../src/core/store';
import { useTempDirs } from './helpers';

const tempDir = useTempDirs();

describe('runs', () => {
  it('records status, metric batches and checkpoints, and keeps them across a reopen', () => {
    const dir = tempDir();
    let store = openStore({ dir });
    const run = createRun(store, {
      id: 'r1',
      dictionaryName: 'gpt2-l6-topk',
      config: { lr: 4e-4, total_training_tokens: 1e6 },
    });
    expect(run).toMatchObject({
      id: 'r1',
      status: 'running',
      error: null,
      finishedAt: null,
      checkpoints: [],
      lastStep: null,
    });

    appendRunMetrics(store, 'r1', [
      { step: 0, tokens: 0, values: { loss: 3.5, l0: 120 } },
      { step: 100, tokens: 409_600, values: { loss: 1.25, l0: 64 } },
    ]);
    appendRunMetrics(store, 'r1', [
      {
        step: 200,
        tokens: 819_200,
        values: { loss: Number.NaN, grad_norm: Number.POSITIVE_INFINITY, min: Number.NEGATIVE_INFINITY },
      },
    ]);
    addRunCheckpoint(store, 'r1', { step: 100, tokens: 409_600, path: 'runs/r1/checkpoints/step-100' });
    store.close();

    store = openStore({ dir });
    try {
      expect(getRunMetrics(store, 'r1')).toEqual([
        { step: 0, tokens: 0, values: { loss: 3.5, l0: 120 } },
        { step: 100, tokens: 409_600, values: { loss: 1.25, l0: 64 } },
        {
          step: 200,
          tokens: 819_200,
          values: { loss: Number.NaN, grad_norm: Number.POSITIVE_INFINITY, min: Number.NEGATIVE_INFINITY },
        },
      ]);
      expect(getRunMetrics(store, 'r1', { fromStep: 100, limit: 1 }).map((p) => p.step)).toEqual([100]);
      // A resumed run logs step 200 again: the new point replaces the old.
      appendRunMetrics(store, 'r1', [{ step: 200, tokens: 819_200, values: { loss: 0.9 } }]);
      expect(getRunMetrics(store, 'r1', { fromStep: 200 })).toEqual([
        { step: 200, tokens: 819_200, values: { loss: 0.9 } },
      ]);

      const done = updateRunStatus(store, 'r1', 'done');
      expect(done.status).toBe('done');
      expect(done.finishedAt).not.toBeNull();
      expect(done.lastStep).toBe(200);
      expect(done.checkpoints).toEqual([
        { step: 100, tokens: 409_600, path: 'runs/r1/checkpoints/step-100', createdAt: expect.any(String) },
      ]);
      expect(done.config).toEqual({ lr: 4e-4, total_training_tokens: 1e6 });
      const failed = updateRunStatus(store, 'r1', 'failed', { error: 'NaN loss at step 200' });
      expect(failed).toMatchObject({ status: 'failed', error: 'NaN loss at step 200' });
      expect(updateRunStatus(store, 'r1', 'running').finishedAt).toBeNull();
    } finally {
      store.close();
    }
  });

  it('lists recent runs newest first, filtered by status or dictionary', async () => {
    const store = openStore({ dir: tempDir() });
    try {
      for (const id of ['a', 'b', 'c']) {
        createRun(store, { id, dictionaryName: id === 'b' ? 'other' : 'main', config: {} });
        await new Promise((r) => setTimeout(r, 2)); // distinct timestamps
      }
      updateRunStatus(store, 'a', 'cancelled'); // now the most recently updated
      expect(listRecentRuns(store).map((r) => r.id)).toEqual(['a', 'c', 'b']);
      expect(listRecentRuns(store, { limit: 2 }).map((r) => r.id)).toEqual(['a', 'c']);
      expect(listRecentRuns(store, { status: 'running' }).map((r) => r.id)).toEqual(['c', 'b']);
      expect(listRecentRuns(store, { dictionaryName: 'main' }).map((r) => r.id)).toEqual(['a', 'c']);
    } finally {
      store.close();
    }
  });

  it('gives InputErrors for unknown or duplicate runs and bad statuses', () => {
    const store = openStore({ dir: tempDir() });
    try {
      createRun(store, { id: 'x', dictionaryName: 'd', config: {} });
      expect(() => createRun(store, { id: 'x', dictionaryName: 'd', config: {} })).toThrow(
        new InputError("run 'x' already exists"),
      );
      expect(() => getRun(store, 'nope')).toThrow(new InputError("unknown run 'nope'"));
      expect(() => appendRunMetrics(store, 'nope', [])).toThrow(InputError);
      expect(() => updateRunStatus(store, 'x', 'paused' as never)).toThrow(
        /run status 'paused': expected one of running, done, failed, cancelled/,
      );
      expect(() =>
        appendRunMetrics(store, 'x', [
          { step: 1, tokens: 1, values: {} },
          { step: -1, tokens: 1, values: {} },
        ]),
      ).toThrow(/metric step -1/);
      expect(getRunMetrics(store, 'x')).toEqual([]); // the failed batch left nothing
      expect(createRun(store, { dictionaryName: 'd', config: {} }).id).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      store.close();
    }
  });
});
