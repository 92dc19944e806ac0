// Process entry of the CLI bundle: runs `main` and exits with its status (Dawn's handles would otherwise keep
// the event loop alive after a webgpu run).
import { main } from './main';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`sae-studio: internal error: ${String(err)}\n`);
    process.exit(1);
  },
);
