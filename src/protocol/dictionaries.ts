/** Dictionaries known to the local store, as the dictionary list shows them. */
import { z } from 'zod';
import { MetricValuesSchema } from './metric-values';

export const DictionarySummarySchema = z.object({
  name: z.string().min(1),
  /** lm-saes `series`. */
  series: z.string(),
  /** The lm-saes directory. */
  path: z.string(),
  saeType: z.string(),
  dSae: z.number().int().positive(),
  modelName: z.string().nullable(),
  hookPointIn: z.string().nullable(),
  hookPointOut: z.string().nullable(),
  /** The dictionary's own config (lm-saes field names). */
  config: z.record(z.string(), z.unknown()),
  /** Evaluation metrics (explained variance, L0, CE loss…), or null before any evaluation. */
  metrics: MetricValuesSchema.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type DictionarySummary = z.infer<typeof DictionarySummarySchema>;

export const ListDictionariesRequestSchema = z.strictObject({ series: z.string().min(1).optional() });
export const ListDictionariesResponseSchema = z.object({ dictionaries: z.array(DictionarySummarySchema) });
