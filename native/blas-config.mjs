// Picks the optional system BLAS for binding.gyp at build time and prints one part of its configuration:
// `node blas-config.mjs name|defines|include_dirs|libraries`. OpenBLAS where pkg-config finds it (Linux),
// Accelerate on macOS, none otherwise or when SAE_STUDIO_BLAS=own; the addon's own sgemm is built in every case.
import { execFileSync } from 'node:child_process';

function pkgConfig(...args) {
  try {
    return execFileSync('pkg-config', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function detect() {
  if ((process.env.SAE_STUDIO_BLAS ?? '').toLowerCase() === 'own') return { name: 'own' };
  if (process.platform === 'darwin') {
    return {
      name: 'accelerate',
      defines: ['SAE_BLAS_ACCELERATE', 'ACCELERATE_NEW_LAPACK'],
      libraries: ['-framework Accelerate'],
    };
  }
  if (pkgConfig('--exists', 'openblas') === null) return { name: 'own' };
  const includes = (pkgConfig('--cflags-only-I', 'openblas') ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((f) => f.slice(2));
  const libDirs = (pkgConfig('--libs-only-L', 'openblas') ?? '').split(/\s+/).filter(Boolean);
  return {
    name: 'openblas',
    defines: ['SAE_BLAS_OPENBLAS'],
    include_dirs: includes,
    libraries: [...libDirs, '-lopenblas'],
  };
}

const what = process.argv[2] ?? 'name';
const config = detect();
const value = config[what] ?? [];
process.stdout.write(Array.isArray(value) ? value.join(' ') : String(value));
