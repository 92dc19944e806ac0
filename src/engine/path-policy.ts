/**
 * Which files and folders the studio service may open for a caller over the network (`sae-studio serve`): the
 * studio home and the folders the user registered (`serve --allow <folder>`), nothing else.
 *
 * A reference in a request (a model, a dataset, a dictionary, an activation cache) is either a *name* — no `/` or
 * `\`, not `.` or `..`, and no such entry in the server's working folder — resolved by the studio itself (a bundled
 * model, an embedded corpus, a dictionary under the home), always allowed; or a *path*, allowed only when it lies in
 * one of the allowed folders once symbolic links are followed (the deepest part of it that exists is resolved with
 * realpath, so a link inside the home that points elsewhere is refused). A path outside is refused with one line
 * before anything reads it, so the answer does not even tell whether it exists.
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { FieldIssue } from '../protocol/service-error';

export interface PathPolicy {
  /** The allowed folders, as real paths. */
  readonly roots: readonly string[];
  /** Null when `ref` may be opened; else the one-line reason it may not. */
  refusal(ref: string): string | null;
}

export function confinedPaths(folders: readonly string[]): PathPolicy {
  const roots = [...new Set(folders.map((f) => realPath(resolve(f))))];
  return {
    roots,
    refusal(ref) {
      if (isName(ref)) return null;
      const real = realPath(resolve(ref));
      if (roots.some((root) => inside(real, root))) return null;
      return `${ref}: outside the folders this studio may open (${roots.join(', ')}); start 'sae-studio serve' with --allow <folder> to open files elsewhere`;
    },
  };
}

/** The issues of the references in `refs` (field → reference; undefined and null are skipped). */
export function pathIssues(
  policy: PathPolicy | null | undefined,
  refs: Record<string, string | null | undefined>,
): FieldIssue[] {
  if (!policy) return [];
  const issues: FieldIssue[] = [];
  for (const [field, ref] of Object.entries(refs)) {
    if (typeof ref !== 'string') continue;
    const message = policy.refusal(ref);
    if (message !== null) issues.push({ field, message });
  }
  return issues;
}

function isName(ref: string): boolean {
  return !/[\\/]/.test(ref) && ref !== '.' && ref !== '..' && ref.trim() !== '' && !existsSync(ref);
}

function inside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** `path` with its deepest existing ancestor replaced by that ancestor's real path. */
function realPath(path: string): string {
  const rest: string[] = [];
  let at = path;
  for (;;) {
    try {
      return join(realpathSync(at), ...rest.reverse());
    } catch {
      const up = dirname(at);
      if (up === at) return path;
      rest.push(basename(at));
      at = up;
    }
  }
}
