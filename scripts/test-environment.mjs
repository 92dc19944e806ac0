// What the test suites need from the machine, probed before `npm test` runs them: the native addon (its suites
// skip without it), a WebGPU adapter (lavapipe will do; the webgpu suites skip without one) and Debian's chromium
// (the end-to-end suite skips without it). Prints one notice per missing piece naming the package that brings it;
// under CI=true a missing piece is an error, so a required suite can never pass CI by being skipped.
import { existsSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function probeNative() {
  const file = join(root, 'native', 'build', 'Release', 'sae_blas.node');
  if (!existsSync(file)) {
    return 'the native addon is not built (needs a C compiler, make and python3: apt-get install build-essential python3; then npm run build:native)';
  }
  try {
    require(file);
    return null;
  } catch (err) {
    return `the native addon does not load (${String(err.message).split('\n')[0]}); rebuild it with npm run build:native`;
  }
}

async function probeWebGpu() {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'sae-studio-xdg-'));
  let dawn;
  try {
    dawn = await import('webgpu');
  } catch (err) {
    return `the 'webgpu' package does not load (${String(err.message).split('\n')[0]})`;
  }
  let gpu, adapter;
  try {
    gpu = dawn.create([]);
    adapter = await gpu.requestAdapter();
  } catch (err) {
    return `WebGPU did not start (${String(err.message).split('\n')[0]})`;
  }
  globalThis.__saeStudioDawn = gpu; // Dawn aborts if its instance is collected while an adapter lives
  return adapter
    ? null
    : 'no WebGPU adapter (install a Vulkan driver: libvulkan1 and mesa-vulkan-drivers >= 25, from bookworm-backports on Debian 12)';
}

function probeChromium() {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  return existsSync(path) ? null : `no chromium at ${path} (apt-get install chromium, or set CHROMIUM_PATH)`;
}

const checks = [
  ['native kernel suites', probeNative()],
  ['webgpu suites', await probeWebGpu()],
  ['end-to-end suite', probeChromium()],
];
const missing = checks.filter(([, why]) => why !== null);
const ci = process.env.CI === 'true' || process.env.CI === '1';
for (const [suite, why] of missing) {
  console.log(`${ci ? 'error' : 'NOTICE'}: the ${suite} ${ci ? 'cannot run' : 'will be skipped'}: ${why}`);
}
if (missing.length === 0) console.log('test environment: native addon, WebGPU adapter and chromium present');
process.exit(ci && missing.length > 0 ? 1 : 0);
