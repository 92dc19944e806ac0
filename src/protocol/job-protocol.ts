/**
 * The job protocol between a supervisor (the app's main process, or `sae-studio serve`) and the engine process that
 * runs one job. Parent → engine: `start` (once, first) and `cancel`. Engine → parent: `progress`, `metrics`, `log`,
 * `checkpoint`, then exactly one of `done` or `error`, after which the engine exits. Every message is plain JSON
 * (non-finite metrics travel as null), so it crosses Node IPC, Electron's utility-process ports and HTTP alike.
 */
import { z } from 'zod';
import { MetricValuesSchema } from './metric-values';
import { BACKEND_REQUESTS, DATASET_SPLITS } from './run-config';
import { AutointerpJobSpecSchema, AutointerpResultSchema } from './autointerp';

const count = z.number().int().nonnegative();
const jsonObject = z.record(z.string(), z.unknown());

/** Train a dictionary: a new run (`config` is a train config, lm-saes field names) or the resume of `runId`. */
export const TrainJobSpecSchema = z.object({
  kind: z.literal('train'),
  runId: z.string().min(1),
  resume: z.boolean(),
  /** Required for a new run; a resumed run uses the config saved in its folder. */
  config: jsonObject.optional(),
});

export type TrainJobSpec = z.infer<typeof TrainJobSpecSchema>;

/** Analyse a saved dictionary's features over a dataset into the local store. */
export const AnalyzeJobSpecSchema = z.object({
  kind: z.literal('analyze'),
  dictionary: z.string().min(1),
  dataset: z.string().min(1),
  split: z.enum(DATASET_SPLITS).nullable(),
  tokens: z.number().int().positive(),
  model: z.string().min(1).optional(),
  /** Analysis name (default 'default'; an existing one is replaced). */
  name: z.string().min(1).optional(),
  backend: z.enum(BACKEND_REQUESTS),
});

export type AnalyzeJobSpec = z.infer<typeof AnalyzeJobSpecSchema>;

/**
 * Compute an attribution graph of a prompt over a dictionary set into the store (core/circuits/attribute-job.ts):
 * the graph row `name` goes running → done, failed or cancelled. Settings and pruning as the attribute CLI takes them.
 */
export const AttributeJobSpecSchema = z.object({
  kind: z.literal('attribute'),
  set: z.string().min(1),
  prompt: z.string().min(1),
  /** The graph's name in the store. */
  name: z.string().min(1),
  settings: jsonObject,
  prune: jsonObject,
  qk: jsonObject.default({}),
  backend: z.enum(BACKEND_REQUESTS),
});

export type AttributeJobSpec = z.infer<typeof AttributeJobSpecSchema>;

export const JobSpecSchema = z.discriminatedUnion('kind', [
  TrainJobSpecSchema,
  AnalyzeJobSpecSchema,
  AttributeJobSpecSchema,
  AutointerpJobSpecSchema,
]);
export type JobSpec = z.infer<typeof JobSpecSchema>;
export type JobKind = JobSpec['kind'];

export const TrainResultSchema = z.object({
  kind: z.literal('train'),
  /** True when stopped by `cancel`: a checkpoint was written and the run can be resumed. */
  cancelled: z.boolean(),
  steps: count,
  tokens: count,
  seconds: z.number().nonnegative(),
  /** The saved dictionary; null when cancelled. */
  dictionary: z
    .object({ name: z.string().min(1), path: z.string().min(1), modelName: z.string().min(1), config: jsonObject })
    .nullable(),
  /** The evaluation after training (explained_variance, l0, ce_loss_recovered…), when the config asked for one. */
  evaluation: MetricValuesSchema.nullable().default(null),
});

export const AnalyzeResultSchema = z.object({
  kind: z.literal('analyze'),
  dictionary: z.string().min(1),
  analysis: z.string().min(1),
  tokens: count,
  seconds: z.number().nonnegative(),
  tokensPerSecond: z.number().nonnegative(),
});

export const AttributeResultSchema = z.object({
  kind: z.literal('attribute'),
  graph: z.string().min(1),
  /** Sizes of the pruned graph. */
  nodes: count,
  links: count,
  seconds: z.number().nonnegative(),
});

export const JobResultSchema = z.discriminatedUnion('kind', [
  TrainResultSchema,
  AnalyzeResultSchema,
  AttributeResultSchema,
  AutointerpResultSchema,
]);
export type JobResult = z.infer<typeof JobResultSchema>;

export const StartMessageSchema = z.object({
  type: z.literal('start'),
  jobId: z.string().min(1),
  job: JobSpecSchema,
  /**
   * A file the supervisor creates to cancel, beside sending `cancel`: a training engine checks it between steps,
   * because a busy engine may not read its messages until the job ends.
   */
  cancelFile: z.string().min(1).optional(),
});
export type StartMessage = z.infer<typeof StartMessageSchema>;

/** Stop soon: training writes a checkpoint first (the run stays resumable); an analysis is dropped whole. */
export const CancelMessageSchema = z.object({ type: z.literal('cancel') });

export const ProgressMessageSchema = z.object({
  type: z.literal('progress'),
  /** e.g. 'training', 'activations', 'logits', 'neighbours'. */
  phase: z.string().min(1),
  done: z.number().nonnegative(),
  /** Null when unknown. */
  total: z.number().nonnegative().nullable(),
  /** What done and total count: 'steps', 'tokens'… */
  unit: z.string(),
});
export const MetricsMessageSchema = z.object({
  type: z.literal('metrics'),
  step: count,
  tokens: count,
  /** loss, l_rec, l0, explained_variance, dead, lr, tokens_per_second… */
  values: MetricValuesSchema,
});
export const LogMessageSchema = z.object({ type: z.literal('log'), message: z.string() });
export const CheckpointMessageSchema = z.object({
  type: z.literal('checkpoint'),
  step: count,
  tokens: count,
  path: z.string().min(1),
});
export const DoneMessageSchema = z.object({ type: z.literal('done'), result: JobResultSchema });
export const ErrorMessageSchema = z.object({
  type: z.literal('error'),
  /** One line. */
  message: z.string().min(1),
  /** True when the message alone says what to fix (a bad field, a missing file); false for a bug or a crash. */
  inputError: z.boolean(),
});

export const ParentMessageSchema = z.discriminatedUnion('type', [StartMessageSchema, CancelMessageSchema]);
export type ParentMessage = z.infer<typeof ParentMessageSchema>;

export const EngineMessageSchema = z.discriminatedUnion('type', [
  ProgressMessageSchema,
  MetricsMessageSchema,
  LogMessageSchema,
  CheckpointMessageSchema,
  DoneMessageSchema,
  ErrorMessageSchema,
]);
export type EngineMessage = z.infer<typeof EngineMessageSchema>;

/** Every message of the protocol, either direction. */
export const JobMessageSchema = z.discriminatedUnion('type', [
  StartMessageSchema,
  CancelMessageSchema,
  ProgressMessageSchema,
  MetricsMessageSchema,
  LogMessageSchema,
  CheckpointMessageSchema,
  DoneMessageSchema,
  ErrorMessageSchema,
]);
export type JobMessage = z.infer<typeof JobMessageSchema>;
export const JOB_MESSAGE_TYPES = JobMessageSchema.options.map((o) => o.shape.type.value);
