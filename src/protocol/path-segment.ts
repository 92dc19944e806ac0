// Names that become one folder under the studio home (a dictionary's name, a run's id): one plain path segment —
// a letter, digit or underscore first, then letters, digits, dot, dash and underscore, at most 128 — so that `.`,
// `..`, hidden names, separators and option-like names can never reach the file system. The one definition that the
// schemas (here) and the path builders (core/home.ts) both use.
import { z } from 'zod';

export const PATH_SEGMENT_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
export const PATH_SEGMENT_RULE =
  'one folder name: a letter, digit or underscore first, then letters, digits, dot, dash and underscore (at most 128)';

export function isPathSegment(value: string): boolean {
  return PATH_SEGMENT_PATTERN.test(value);
}

export const PathSegmentSchema = z.string().regex(PATH_SEGMENT_PATTERN, PATH_SEGMENT_RULE);
