// Where the product's bundled resources (the embedded default model) live: SAE_STUDIO_RESOURCES, else the
// `resources/` folder of the installed package, found by walking up from this file.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The folder of sae-studio's package.json, found by walking up from this file. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'sae-studio') {
      cached = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot locate the sae-studio package folder; set SAE_STUDIO_RESOURCES / SAE_STUDIO_NATIVE');
    dir = parent;
  }
}

export function resourcesDir(): string {
  return process.env.SAE_STUDIO_RESOURCES || join(packageRoot(), 'resources');
}

export function bundledModelsDir(): string {
  return join(resourcesDir(), 'models');
}
