/** zod validation issues → `{ field, message }[]` with dotted paths, the shape a form shows beside its inputs. */
import type { z } from 'zod';
import type { FieldIssue } from './service-error';

/** `prefix` is prepended to every path (e.g. `config` when the validated value sits at `request.config`). */
export function fieldIssues(error: z.ZodError, prefix = ''): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const path = joinPath(prefix, issue.path.map(String).join('.'));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ field: joinPath(path, key), message: 'unknown field' });
    } else {
      out.push({ field: path, message: issue.message });
    }
  }
  return out;
}

export function joinPath(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a}.${b}`;
}
