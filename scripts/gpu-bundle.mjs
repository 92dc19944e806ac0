// Bundles bench/gpu.ts into .gpu/gpu.mjs with every npm package inside (a bare GPU host has no node_modules),
// and Dawn's native module beside it, compressed (scripts/gpu-host-run.sh unpacks it where the bundled `webgpu`
// package looks: .gpu/dist/<platform>-<arch>/).
// Node itself and the Vulkan loader come from ../shared/gpu-host/prepare.sh (README, "On a GPU").
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.gpu');
await build({
  entryPoints: [join(root, 'bench/gpu.ts')],
  outfile: join(out, 'gpu.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native modules load at run time, by path: Dawn (copied below); the OpenBLAS addon is never needed on webgpu.
  external: ['*.node'],
  banner: { js: "import { createRequire as __sae_cr } from 'node:module'; const require = __sae_cr(import.meta.url);" },
  logLevel: 'warning',
});
const require = createRequire(import.meta.url);
const arch = process.platform === 'darwin' ? 'universal' : process.arch;
const dawn = join(dirname(require.resolve('webgpu/package.json')), 'dist', `${process.platform}-${arch}`, 'dawn.node');
// Compressed (~5 MB instead of ~21 MB): scripts/gpu-host-run.sh unpacks it to .gpu/dist/<platform>-<arch>/.
writeFileSync(join(out, 'dawn.node.xz'), execFileSync('xz', ['-T2', '-6', '-c', dawn], { maxBuffer: 1 << 30 }));
rmSync(join(out, 'dist'), { recursive: true, force: true });
process.stdout.write(`${join(out, 'gpu.mjs')} and ${join('.gpu', 'dawn.node.xz')} written\n`);
