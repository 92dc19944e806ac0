// The job protocol: every message type survives JSON (the wire of Node IPC and HTTP) and is checked by its schema;
// malformed messages are rejected with the field at fault.
import { describe, expect, it } from 'vitest';
import {
  EngineMessageSchema,
  JOB_MESSAGE_TYPES,
  JobMessageSchema,
  ParentMessageSchema,
  type JobMessage,
} from '../../src/protocol/job-protocol';
import { toMetricValues } from '../../src/protocol/metric-values';
import { StudioEventSchema } from '../../src/protocol/jobs';

const EXAMPLES: JobMessage[] = [
  {
    type: 'start',
    jobId: 'j1',
    job: {
      kind: 'train',
      runId: 'r1',
      resume: false,
      config: { sae: { hook_point_in: 'blocks.0.hook_resid_post' }, total_training_tokens: 1024 },
    },
  },
  { type: 'start', jobId: 'j2', job: { kind: 'train', runId: 'r1', resume: true } },
  {
    type: 'start',
    jobId: 'j3',
    job: { kind: 'analyze', dictionary: 'small', dataset: 'pdlm-corpus', split: null, tokens: 1000, backend: 'wasm' },
  },
  { type: 'cancel' },
  { type: 'progress', phase: 'training', done: 3, total: 12, unit: 'steps' },
  { type: 'metrics', step: 3, tokens: 768, values: { loss: 1.5, k: null, l0: 8 } },
  { type: 'log', message: 'backend: wasm' },
  { type: 'checkpoint', step: 4, tokens: 1024, path: '/home/runs/r1/checkpoints/step-00000004' },
  {
    type: 'done',
    result: {
      kind: 'train',
      cancelled: true,
      steps: 4,
      tokens: 1024,
      seconds: 1.5,
      dictionary: null,
      evaluation: null,
    },
  },
  {
    type: 'done',
    result: {
      kind: 'analyze',
      dictionary: 'small',
      analysis: 'default',
      tokens: 1000,
      seconds: 2,
      tokensPerSecond: 500,
    },
  },
  { type: 'error', message: "field 'sae.top_k': required", inputError: true },
];

describe('job protocol', () => {
  it('has the eight message types of the brief, in one discriminated union', () => {
    expect(JOB_MESSAGE_TYPES).toEqual(['start', 'cancel', 'progress', 'metrics', 'log', 'checkpoint', 'done', 'error']);
    expect(new Set(EXAMPLES.map((m) => m.type))).toEqual(new Set(JOB_MESSAGE_TYPES));
  });

  it.each(EXAMPLES.map((m) => [m.type, m] as const))('%s survives JSON and validates', (_, message) => {
    const wire = JSON.parse(JSON.stringify(message)) as unknown;
    expect(JobMessageSchema.parse(wire)).toEqual(message);
  });

  it('splits the directions: the engine never receives progress, the parent never receives start', () => {
    expect(
      ParentMessageSchema.safeParse({ type: 'progress', phase: 'x', done: 0, total: null, unit: '' }).success,
    ).toBe(false);
    expect(EngineMessageSchema.safeParse({ type: 'cancel' }).success).toBe(false);
  });

  it.each([
    [{ type: 'launch' }, ['type']],
    [{ type: 'start', jobId: 'j' }, ['job']],
    [{ type: 'start', jobId: 'j', job: { kind: 'train', runId: '', resume: false } }, ['job', 'runId']],
    [
      {
        type: 'start',
        jobId: 'j',
        job: { kind: 'analyze', dictionary: 'd', dataset: 'x', split: 'test', tokens: 0, backend: 'tpu' },
      },
      ['job', 'split'],
    ],
    [{ type: 'metrics', step: 1.5, tokens: 0, values: {} }, ['step']],
    [{ type: 'metrics', step: 1, tokens: 0, values: { loss: 'high' } }, ['values', 'loss']],
    [{ type: 'error', message: 'boom' }, ['inputError']],
  ])('rejects %j at %j', (message, path) => {
    const r = JobMessageSchema.safeParse(message);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(path);
  });

  it('carries non-finite metrics as null', () => {
    const values = toMetricValues({ loss: Number.NaN, l0: Number.POSITIVE_INFINITY, lr: 1e-3, k: null });
    expect(values).toEqual({ loss: null, l0: null, lr: 1e-3, k: null });
    expect(
      JobMessageSchema.parse(JSON.parse(JSON.stringify({ type: 'metrics', step: 1, tokens: 2, values }))),
    ).toMatchObject({ values });
  });

  it('tags engine messages with their job in studio events, plus a final `ended`', () => {
    const event = {
      jobId: 'j1',
      kind: 'train',
      runId: 'r1',
      message: { type: 'ended', status: 'failed', error: 'killed', resumable: true },
    };
    expect(StudioEventSchema.parse(event)).toEqual(event);
    expect(StudioEventSchema.safeParse({ ...event, message: { type: 'cancel' } }).success).toBe(false);
  });
});
