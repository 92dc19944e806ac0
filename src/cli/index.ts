// Process entry of the CLI bundle: runs `main` and exits with its status once stdout and stderr are flushed
// (writes to a pipe are asynchronous; exiting at once would cut a large JSON answer). The explicit exit is
// needed because Dawn's handles would otherwise keep the event loop alive after a webgpu run.
import { main } from './main';

function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(exitWhenFlushed, (err: unknown) => {
  process.stderr.write(`sae-studio: internal error: ${String(err)}\n`);
  exitWhenFlushed(1);
});
