// Builds the optional native addon (native/: sgemm — our own, plus OpenBLAS/Accelerate where found — and the
// sparse TopK and LM kernels) with node-gyp, then prints one line naming the BLAS it built with. Never fails the
// install: without a C compiler the app runs on tfjs's kernels and says so once. SAE_STUDIO_BLAS=own builds
// without a system BLAS even where one is installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nodeGyp = process.env.npm_config_node_gyp;
const [cmd, args] = nodeGyp ? [process.execPath, [nodeGyp]] : ['npx', ['--no-install', 'node-gyp']];
// node-gyp downloads Node's headers unless told where they are; a Node installed with its headers (Debian's,
// nodesource's, the official tarball: <prefix>/include/node) needs no download, which matters where nodejs.org is
// out of reach. An explicit npm_config_nodedir wins.
const prefix = dirname(dirname(process.execPath));
const nodedir =
  !process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))
    ? [`--nodedir=${prefix}`]
    : [];
const r = spawnSync(cmd, [...args, 'rebuild', ...nodedir, '--directory', join(root, 'native')], {
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (r.status === 0) {
  process.stderr.write(`sae-studio: native addon built (BLAS: ${builtBlas()}; sparse TopK and LM kernels)\n`);
} else {
  const why =
    `${r.stderr ?? ''}${r.stdout ?? ''}`.split('\n').find((l) => /error|not found|No such/i.test(l)) ??
    `exit ${r.status}`;
  process.stderr.write(
    `sae-studio: notice: native addon not built (${why.trim()}); the wasm backend's own kernels will be used. Install a C compiler, then run npm run build:native.\n`,
  );
}

/** The BLAS the fresh build uses, from its own info(): "own (avx512, 2 threads)", "openblas (Zen)", ... */
function builtBlas() {
  try {
    const info = createRequire(import.meta.url)(join(root, 'native', 'build', 'Release', 'sae_blas.node')).info();
    return info.system ? `${info.blas}; own sgemm also built` : `${info.blas}, no system BLAS linked`;
  } catch (err) {
    return `unknown, the addon does not load: ${String(err.message).split('\n')[0]}`;
  }
}
