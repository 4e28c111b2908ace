#!/usr/bin/env node
// The `zennas` executable: one clear line and a non-zero exit code for any unexpected failure.
import { main } from './main';

// `zennas search … | head`: a reader that went away is not an error of ours; stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`zennas: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
