#!/usr/bin/env node
// The `zennas` executable: one clear line and a non-zero exit code for any unexpected failure.
import { main } from './main';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`zennas: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
