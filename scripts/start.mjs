// `npm start` / `npm run dev`: the desktop app through electron-vite, once Electron's own binary is there. The
// install never downloads it (package.json's allowScripts denies electron's download script, so `npm ci` works
// where GitHub is out of reach); where it is missing this says in one line how to get it, or how to do without.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mode = process.argv[2] === 'dev' ? 'dev' : 'preview';

function electronBinary() {
  try {
    const path = require('electron'); // the package exports the binary's path, and throws when it was never fetched
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

if (!electronBinary()) {
  console.error(
    "sae-studio: Electron's binary is not installed — fetch it once with `node node_modules/electron/install.js` " +
      '(needs GitHub, or ELECTRON_MIRROR pointing at a mirror), or open the same app in a browser with `npx sae-studio serve`.',
  );
  process.exit(1);
}
const run = spawnSync('npx', ['electron-vite', mode], { stdio: 'inherit' });
process.exit(run.status ?? 1);
