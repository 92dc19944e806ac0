/**
 * The layer table of docs/architecture.md as data, and a pure checker that applies it to source files
 * (repo-relative POSIX paths under src/ and their text). Imports point downward only; there are no exemptions.
 */
import { isBuiltin } from 'node:module';
import { posix } from 'node:path';
import { parseImports } from './parse-imports';

export const LAYERS = ['protocol', 'core', 'engine', 'cli', 'main', 'preload', 'renderer'] as const;
export type Layer = (typeof LAYERS)[number];

interface LayerRule {
  /** Other layers it may import (every layer imports itself); `core/store` allows only `src/core/store/**`. */
  layers: readonly string[];
  /** npm packages: only the listed ones, or any but the listed ones; `@scope/*` stands for a whole scope. */
  packages: { only: readonly string[] } | { except: readonly string[] };
  /** Whether Node builtins (`node:fs`, `path`, …) may be imported. */
  nodeBuiltins: boolean;
}

/** UI libraries belong to the renderer alone. */
const UI_PACKAGES = ['react', 'react-dom', '@mantine/*', 'recharts'];

export const LAYER_RULES: Record<Layer, LayerRule> = {
  protocol: { layers: [], packages: { only: ['zod'] }, nodeBuiltins: false },
  core: { layers: ['protocol'], packages: { except: ['electron', ...UI_PACKAGES] }, nodeBuiltins: true },
  engine: { layers: ['protocol', 'core'], packages: { except: ['electron', ...UI_PACKAGES] }, nodeBuiltins: true },
  cli: {
    layers: ['protocol', 'engine', 'core'],
    packages: { except: ['electron', ...UI_PACKAGES] },
    nodeBuiltins: true,
  },
  main: { layers: ['protocol', 'engine', 'core/store'], packages: { except: UI_PACKAGES }, nodeBuiltins: true },
  preload: { layers: ['protocol'], packages: { only: ['electron'] }, nodeBuiltins: false },
  renderer: { layers: ['protocol'], packages: { except: ['electron'] }, nodeBuiltins: false },
};

export interface SourceFile {
  /** Repo-relative POSIX path, e.g. `src/renderer/src/App.tsx`. */
  path: string;
  text: string;
}

export interface Violation {
  path: string;
  line: number;
  /** The module named (null: not a string literal); undefined when the file itself is misplaced. */
  specifier?: string | null;
  reason: string;
}

export function formatViolation(v: Violation): string {
  if (v.specifier === undefined) return `${v.path}:${v.line} ${v.reason}`;
  const what = v.specifier === null ? 'a non-literal module' : `'${v.specifier}'`;
  return `${v.path}:${v.line} imports ${what}: ${v.reason}`;
}

export function checkLayers(files: readonly SourceFile[]): Violation[] {
  const violations: Violation[] = [];
  for (const file of files) {
    const layer = layerOf(file.path);
    if (layer === undefined) {
      const reason = `file lies outside every layer (src/{${LAYERS.join(',')}}/…)`;
      violations.push({ path: file.path, line: 1, reason });
      continue;
    }
    for (const ref of parseImports(file.path, file.text)) {
      const reason =
        ref.specifier === null ? 'cannot be checked; use a string literal' : why(layer, file.path, ref.specifier);
      if (reason !== undefined) violations.push({ path: file.path, line: ref.line, specifier: ref.specifier, reason });
    }
  }
  return violations;
}

/** Why `specifier`, imported by `path` in `layer`, breaks the rule; undefined when it does not. */
function why(layer: Layer, path: string, specifier: string): string | undefined {
  const rule = LAYER_RULES[layer];
  const spec = specifier.replace(/\?.*$/, ''); // Vite queries such as `?raw`, `?asset`
  if (spec.startsWith('/')) return 'absolute paths are not allowed; use a relative import';
  if (spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..') {
    return whyRelative(layer, rule, posix.normalize(posix.join(posix.dirname(path), spec)));
  }
  if (spec.startsWith('node:') || isBuiltin(spec)) {
    return rule.nodeBuiltins ? undefined : `src/${layer} may not import Node builtins`;
  }
  const name = packageName(spec);
  if (name === undefined || name === 'src') {
    return 'neither a relative path nor an npm package (no path aliases: use a relative import)';
  }
  const { packages } = rule;
  if ('only' in packages) {
    return packages.only.some((p) => matches(p, name))
      ? undefined
      : `src/${layer} may import only ${packages.only.join(', ')} from npm`;
  }
  return packages.except.some((p) => matches(p, name)) ? `src/${layer} may not import ${name}` : undefined;
}

function whyRelative(layer: Layer, rule: LayerRule, target: string): string | undefined {
  if (target !== 'src' && !target.startsWith('src/')) return `reaches outside src/ (${target})`;
  const targetLayer = layerOf(target);
  if (targetLayer === layer) return undefined;
  const allowed = rule.layers.some((l) => target === `src/${l}` || target.startsWith(`src/${l}/`));
  if (allowed) return undefined;
  const list = rule.layers.length > 0 ? rule.layers.map((l) => `src/${l}`).join(', ') : 'no other layer';
  return `src/${layer} may not import ${target} (allowed: ${list})`;
}

function layerOf(path: string): Layer | undefined {
  const [root, folder] = path.split('/');
  return root === 'src' ? LAYERS.find((l) => l === folder) : undefined;
}

/** `@scope/name/sub/path` → `@scope/name`, `name/sub` → `name`; undefined when it is no valid package name. */
function packageName(spec: string): string | undefined {
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return name !== undefined && /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name) ? name : undefined;
}

function matches(pattern: string, name: string): boolean {
  return pattern.endsWith('/*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}
