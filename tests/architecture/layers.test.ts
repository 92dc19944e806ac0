/**
 * The layer rule (ARCHITECTURE.md, "Layers — imports point downward only") over every source file in src/, and
 * proof on in-memory files that the checker catches each kind of wrong import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLayers, formatViolation, type SourceFile } from './layer-rules';
import { parseImports } from './parse-imports';

const REPO_ROOT = join(import.meta.dirname, '../..');
const SOURCE_FILE = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;

function readSources(): SourceFile[] {
  const src = join(REPO_ROOT, 'src');
  return readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && SOURCE_FILE.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .map((file) => ({ path: relative(REPO_ROOT, file).split(sep).join('/'), text: readFileSync(file, 'utf8') }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** Violations of one in-memory file, as `line imports 'x': reason` strings. */
function violationsOf(path: string, text: string): string[] {
  return checkLayers([{ path, text }]).map(formatViolation);
}

describe('layer rule', () => {
  it('holds for every source file under src/', () => {
    const files = readSources();
    expect(files.map((f) => f.path)).toContain('src/main/index.ts'); // the scan really found the tree
    expect(checkLayers(files).map(formatViolation)).toEqual([]);
  });

  it('reports each wrong import in a synthetic file list by file, line and specifier', () => {
    const files: SourceFile[] = [
      { path: 'src/renderer/src/bad.tsx', text: "import { App } from './App';\nimport fs from 'node:fs';\n" },
      { path: 'src/core/sae/bad.ts', text: "import { app } from 'electron';\n" },
      { path: 'src/main/bad.ts', text: "import { db } from '../core/store/db';\nimport { m } from '../core/lm/m';" },
      { path: 'src/stray.ts', text: '' },
    ];
    expect(checkLayers(files).map(formatViolation)).toEqual([
      "src/renderer/src/bad.tsx:2 imports 'node:fs': src/renderer may not import Node builtins",
      "src/core/sae/bad.ts:1 imports 'electron': src/core may not import electron",
      "src/main/bad.ts:2 imports '../core/lm/m': src/main may not import src/core/lm/m " +
        '(allowed: src/protocol, src/engine, src/core/store)',
      'src/stray.ts:1 file lies outside every layer ' + '(src/{protocol,core,engine,cli,main,preload,renderer}/…)',
    ]);
  });

  it.each([
    ['src/protocol/a.ts', "import { x } from '../core/x';", 'src/protocol may not import src/core/x'],
    ['src/protocol/a.ts', "import { z } from 'zod';\nimport { y } from 'yaml';", 'may import only zod from npm'],
    ['src/protocol/a.ts', "import { join } from 'path';", 'src/protocol may not import Node builtins'],
    ['src/core/a.ts', "import { Engine } from '../engine/job';", 'src/core may not import src/engine/job'],
    ['src/core/a.ts', "import { Button } from '@mantine/core';", 'src/core may not import @mantine/core'],
    ['src/core/a.ts', "import { jsx } from 'react/jsx-runtime';", 'src/core may not import react'],
    ['src/engine/a.ts', "import { run } from '../cli/run';", 'src/engine may not import src/cli/run'],
    ['src/cli/a.ts', "import { ipc } from '../main/ipc';", 'src/cli may not import src/main/ipc'],
    ['src/main/a.ts', "import { Chart } from 'recharts';", 'src/main may not import recharts'],
    ['src/preload/a.ts', "import { readFile } from 'node:fs/promises';", 'src/preload may not import Node builtins'],
    ['src/preload/a.ts', "import { z } from 'zod';", 'src/preload may import only electron from npm'],
    ['src/renderer/src/a.tsx', "import { ipcRenderer } from 'electron';", 'src/renderer may not import electron'],
    ['src/renderer/src/a.tsx', "import type { A } from '../../preload/api';", 'may not import src/preload/api'],
    ['src/renderer/src/a.tsx', "import { x } from '@/lib/x';", 'no path aliases'],
    ['src/renderer/src/a.tsx', "import pkg from '../../../package.json';", 'reaches outside src/ (package.json)'],
  ])('%s: %s', (path, text, reason) => {
    const violations = violationsOf(path, text);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain(reason);
  });

  it('allows what the table allows', () => {
    const allowed: SourceFile[] = [
      { path: 'src/protocol/a.ts', text: "import { z } from 'zod';\nimport { b } from './b';" },
      { path: 'src/core/a.ts', text: "import { readFile } from 'node:fs/promises';\nimport { T } from '../protocol';" },
      { path: 'src/engine/a.ts', text: "import { train } from '../core/sae/trainer';\nimport * as tf from 'tfjs';" },
      { path: 'src/cli/a.ts', text: "import { job } from '../engine/job';\nimport { cfg } from '../core/config/run';" },
      { path: 'src/main/a.ts', text: "import { app } from 'electron';\nimport { open } from '../core/store/db';" },
      {
        path: 'src/preload/a.ts',
        text: "import { ipcRenderer } from 'electron';\nimport type { A } from '../protocol';",
      },
      {
        path: 'src/renderer/src/a.tsx',
        text: "import { useState } from 'react';\nimport { A } from '../../protocol';",
      },
      { path: 'src/renderer/src/b.ts', text: "import raw from './shader.wgsl?raw';\nimport '../styles/base.css';" },
    ];
    expect(checkLayers(allowed).map(formatViolation)).toEqual([]);
  });
});

describe('parseImports', () => {
  it('finds every way of naming a module, and nothing in strings or comments', () => {
    const text = [
      '/// <reference types="vite/client" />', // 1 (triple-slash directives count only at the top of a file)
      '/// <reference path="globals.d.ts" />',
      "import a from 'static';",
      'import {',
      '  b,', // 5
      "} from 'multi-line';",
      "import type { C } from 'type-only';",
      "import 'side-effect';",
      "export * from 'star';",
      "export { d } from 'named';", // 10
      "const e = await import('dynamic');",
      "const f = require('required');",
      "import g = require('import-equals');",
      "type H = import('type-import').H;",
      "// import x from 'in-a-comment';", // 15
      'const s = "import y from \'in-a-string\'";',
      'const t = `require("in-a-template")`;',
      'const u = await import(name);',
    ].join('\n');
    expect(parseImports('x.ts', text)).toEqual([
      { specifier: 'vite/client', line: 1 },
      { specifier: './globals.d.ts', line: 2 },
      { specifier: 'static', line: 3 },
      { specifier: 'multi-line', line: 4 },
      { specifier: 'type-only', line: 7 },
      { specifier: 'side-effect', line: 8 },
      { specifier: 'star', line: 9 },
      { specifier: 'named', line: 10 },
      { specifier: 'dynamic', line: 11 },
      { specifier: 'required', line: 12 },
      { specifier: 'import-equals', line: 13 },
      { specifier: 'type-import', line: 14 },
      { specifier: null, line: 18 },
    ]);
  });
});
