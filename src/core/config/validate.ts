// Turns zod validation failures into one-line errors naming the source, the field path, the value and what
// was expected.
import type { z } from 'zod';
import { InputError } from '../errors';

export function formatIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
  let value: unknown = input;
  for (const key of issue.path)
    value =
      value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined;
  const shown = issue.code === 'unrecognized_keys' ? '' : ` (got ${describe(value)})`;
  if (issue.code === 'unrecognized_keys')
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${path === '(root)' ? k : `${path}.${k}`}'`).join(', ')}`;
  return `field '${path}': ${issue.message}${shown}`;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** Parses `input` with `schema`; on failure throws an InputError "<source>: field 'x.y': …". */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const [first] = r.error.issues; // a failed parse has at least one issue
  throw new InputError(`${source}: ${first ? formatIssue(first, input) : r.error.message}`);
}
