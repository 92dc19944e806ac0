/** Where the studio keeps its data and what it computes on: the home page's and the wizard's compute step. */
import { z } from 'zod';
import { FieldIssueSchema } from './service-error';

export const SystemInfoSchema = z.object({
  /** $SAE_STUDIO_HOME: dictionaries, runs, token caches. */
  home: z.string(),
  /** The SQLite store. */
  store: z.string(),
  platform: z.string(),
  cpus: z.number().int().nonnegative(),
  cpuModel: z.string(),
  memoryGb: z.number().nonnegative(),
  /** The backend `auto` uses on this machine. */
  autoBackend: z.enum(['webgpu', 'wasm', 'cpu']),
  /** The WebGPU adapter, or null (gpuReason says why). */
  gpu: z.object({ adapter: z.string(), software: z.boolean() }).nullable(),
  gpuReason: z.string().nullable(),
  /** The native addon (sparse TopK, LM and sgemm kernels); detail names its BLAS, or why it did not load. */
  native: z.object({ loaded: z.boolean(), detail: z.string() }),
});
export type SystemInfo = z.infer<typeof SystemInfoSchema>;

export const PreviewDatasetRequestSchema = z.strictObject({
  /** Folder of .txt, a .jsonl / .parquet file, or an embedded corpus name. */
  dataset: z.string().min(1),
  /** The model whose tokenizer splits the samples (bundled name or folder). */
  model: z.string().min(1),
  samples: z.number().int().min(1).max(20).default(3),
  /** Tokens shown per sample. */
  maxTokens: z.number().int().min(1).max(512).default(48),
});

export const DatasetPreviewSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    kind: z.string(),
    files: z.number().int().nonnegative(),
    samples: z.array(
      z.object({ id: z.string(), tokens: z.array(z.string()), totalTokens: z.number().int().nonnegative() }),
    ),
  }),
  z.object({ ok: z.literal(false), issues: z.array(FieldIssueSchema).min(1) }),
]);
export type DatasetPreview = z.infer<typeof DatasetPreviewSchema>;
