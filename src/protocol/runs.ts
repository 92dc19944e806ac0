/** Training runs as the store records them (status, checkpoints, the metrics series) and the requests about them. */
import { z } from 'zod';
import { PathSegmentSchema } from './path-segment';
import { MetricValuesSchema } from './metric-values';
import { TrainConfigDraftSchema } from './run-config';

const count = z.number().int().nonnegative();

export const RUN_STATUSES = ['running', 'done', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A run id is also a folder name under runs/: one plain path segment. */
export const RunIdSchema = PathSegmentSchema;

export const RunSummarySchema = z.object({
  id: z.string().min(1),
  dictionaryName: z.string(),
  status: z.enum(RUN_STATUSES),
  /** Why it failed (one line), or null. */
  error: z.string().nullable(),
  startedAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  /** The last step with metrics, or null before the first. */
  lastStep: count.nullable(),
  checkpoints: z.array(z.object({ step: count, tokens: count, path: z.string(), createdAt: z.string() })),
  /** A job of this studio is running it now. */
  active: z.boolean(),
  /** Not active, not done, and a complete checkpoint exists: resumeRun continues it from there. */
  resumable: z.boolean(),
  /** The train config it was started with (as stored with the run: checked when it started, not again here). */
  config: TrainConfigDraftSchema,
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

export const MetricPointSchema = z.object({ step: count, tokens: count, values: MetricValuesSchema });
export type MetricPoint = z.infer<typeof MetricPointSchema>;

export const ListRunsRequestSchema = z.strictObject({
  limit: z.number().int().min(1).max(1000).default(50),
  status: z.enum(RUN_STATUSES).optional(),
  dictionary: z.string().min(1).optional(),
});
export const ListRunsResponseSchema = z.object({ runs: z.array(RunSummarySchema) });

export const GetRunRequestSchema = z.strictObject({
  id: z.string().min(1),
  /** Metrics from this step on (for incremental chart updates). */
  fromStep: count.default(0),
  limit: z.number().int().min(1).max(1_000_000).default(100_000),
});
export const GetRunResponseSchema = z.object({
  run: RunSummarySchema,
  metrics: z.array(MetricPointSchema),
  /** The last lines its engine logged (newest last), each `ISO-time message`. */
  log: z.array(z.string()),
});

export const RunIdRequestSchema = z.strictObject({ id: z.string().min(1) });
