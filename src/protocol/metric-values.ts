/**
 * Named numbers (loss, l0, explained_variance…) as they cross JSON: a value that is not finite (NaN, ±Infinity —
 * a diverged loss) travels as null, which a chart draws as a gap.
 */
import { z } from 'zod';

export const MetricValuesSchema = z.record(z.string(), z.number().nullable());
export type MetricValues = z.infer<typeof MetricValuesSchema>;

/** `values` with every non-finite number replaced by null. */
export function toMetricValues(values: Readonly<Record<string, number | null>>): MetricValues {
  const out: MetricValues = {};
  for (const [k, v] of Object.entries(values)) out[k] = v !== null && Number.isFinite(v) ? v : null;
  return out;
}
