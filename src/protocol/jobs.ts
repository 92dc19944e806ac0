/**
 * Jobs a supervisor runs in engine processes (a training run's start or resume, an analysis), and the events it
 * publishes about them: each engine message tagged with its job, and a final `ended` that also covers an engine
 * that crashed without saying anything.
 */
import { z } from 'zod';
import { EngineMessageSchema } from './job-protocol';
import { BACKEND_REQUESTS, DATASET_SPLITS, TrainConfigDraftSchema, TrainConfigSchema } from './run-config';
import { FieldIssueSchema } from './service-error';
import { RunIdSchema } from './runs';

export const JOB_STATUSES = ['running', 'cancelling', 'done', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A training run, a feature analysis, an attribution graph, the auto-interpretation of features. */
export const JOB_KINDS = ['train', 'analyze', 'attribute', 'autointerp'] as const;

export const JobProgressSchema = z.object({
  phase: z.string(),
  done: z.number(),
  total: z.number().nullable(),
  unit: z.string(),
});

export const JobInfoSchema = z.object({
  jobId: z.string().min(1),
  kind: z.enum(JOB_KINDS),
  /** The training run; for an analysis, the run it follows (started by its config's analyze_tokens) or null. */
  runId: z.string().nullable(),
  /** The dictionary trained or analysed; for an attribution graph, its dictionary set. */
  dictionary: z.string().nullable(),
  /** The attribution graph an 'attribute' job computes (its name in the store), else null. */
  graph: z.string().nullable().default(null),
  status: z.enum(JOB_STATUSES),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  progress: JobProgressSchema.nullable(),
  error: z.string().nullable(),
});
export type JobInfo = z.infer<typeof JobInfoSchema>;

export const JobEndedMessageSchema = z.object({
  type: z.literal('ended'),
  status: z.enum(['done', 'failed', 'cancelled']),
  error: z.string().nullable(),
  /** For a training run: it can be continued with resumeRun. */
  resumable: z.boolean(),
});

export const StudioEventSchema = z.object({
  jobId: z.string().min(1),
  kind: z.enum(JOB_KINDS),
  runId: z.string().nullable(),
  message: z.union([EngineMessageSchema, JobEndedMessageSchema]),
});
export type StudioEvent = z.infer<typeof StudioEventSchema>;

export const ValidateTrainConfigRequestSchema = z.strictObject({ config: TrainConfigDraftSchema });
/** The config with every default filled in, or the fields at fault (paths start with `config.`). */
export const TrainConfigCheckSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), config: TrainConfigSchema }),
  z.object({ ok: z.literal(false), issues: z.array(FieldIssueSchema).min(1) }),
]);
export type TrainConfigCheck = z.infer<typeof TrainConfigCheckSchema>;

export const StartTrainingRequestSchema = z.strictObject({
  /** A train config (lm-saes field names), checked with the same schema as `sae-studio train --config`. */
  config: TrainConfigDraftSchema,
  /** Default: `<name>-<date>-<random>`. */
  runId: RunIdSchema.optional(),
});
export const StartedRunSchema = z.object({ runId: z.string().min(1), jobId: z.string().min(1) });

export const StartAnalysisRequestSchema = z.strictObject({
  /** A dictionary name (under the studio home) or folder. */
  dictionary: z.string().min(1),
  /** Folder of .txt, .jsonl, .parquet, or an embedded corpus name. */
  dataset: z.string().min(1).default('pdlm-corpus'),
  split: z.enum(DATASET_SPLITS).nullable().default(null),
  tokens: z.number().int().positive().default(1_000_000),
  /** Default: the model recorded with the dictionary. */
  model: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  backend: z.enum(BACKEND_REQUESTS).default('auto'),
});
export const StartedJobSchema = z.object({ jobId: z.string().min(1) });

export const JobIdRequestSchema = z.strictObject({ jobId: z.string().min(1) });
export const CancelResponseSchema = z.object({
  /** False when nothing of that id was running. */
  cancelling: z.boolean(),
});
export const ListJobsResponseSchema = z.object({ jobs: z.array(JobInfoSchema) });
