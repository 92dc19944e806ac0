// Builds the optional native addon (native/: OpenBLAS sgemm and sparse TopK kernels) with node-gyp. Never fails
// the install: without a compiler or libopenblas-dev the app runs on tfjs's kernels and says so once.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nodeGyp = process.env.npm_config_node_gyp;
const [cmd, args] = nodeGyp ? [process.execPath, [nodeGyp]] : ['npx', ['--no-install', 'node-gyp']];
const r = spawnSync(cmd, [...args, 'rebuild', '--directory', join(root, 'native')], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status === 0) {
  process.stderr.write('sae-studio: native addon built (OpenBLAS matmul and sparse TopK kernels)\n');
} else {
  const why = `${r.stderr ?? ''}${r.stdout ?? ''}`.split('\n').find((l) => /error|not found|No such/i.test(l)) ?? `exit ${r.status}`;
  process.stderr.write(`sae-studio: notice: native addon not built (${why.trim()}); the wasm backend's own kernels will be used. Install a C compiler and libopenblas-dev, then run npm run build:native.\n`);
}
