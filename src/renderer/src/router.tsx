/**
 * A hash router: `#/runs/abc` works the same from the app:// page (Electron) and from the served page, and a reload
 * keeps the place. Routes are patterns with `:name` parameters.
 */
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

export function currentPath(): string {
  const hash = window.location.hash.replace(/^#/, '');
  return hash.startsWith('/') ? hash : '/';
}

export function navigate(path: string): void {
  window.location.hash = path;
}

export function usePath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = () => setPath(currentPath());
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return path;
}

/** The names of a pattern's `:name` parameters: `/dictionaries/:name/features/:index` → 'name' | 'index'. */
type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<Rest>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;
export type RouteParams<P extends string> = Record<ParamNames<P>, string>;

/** The parameters of `pattern` (e.g. `/dictionaries/:name`) in `path`, or null when it does not match. */
export function matchRoute<P extends string>(pattern: P, path: string): RouteParams<P> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.replace(/\?.*$/, '').split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    const actual = got[i] ?? '';
    if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(actual);
    else if (part !== actual) return null;
  }
  // Every `:name` of the pattern was filled in above, which is what RouteParams<P> says.
  return params as RouteParams<P>;
}

export function href(path: string): string {
  return `#${path}`;
}

export function Link({ to, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={href(to)} onClick={onClick} {...rest} />;
}

/** A query parameter of the current route (`/dictionaries/d/features/3?sample=12` → sample: '12'), or null. */
export function queryParam(path: string, name: string): string | null {
  const q = path.indexOf('?');
  return q < 0 ? null : new URLSearchParams(path.slice(q + 1)).get(name);
}
