#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI lives in the compiled TypeScript (dist/). `npm install` builds it.
let main;
try {
  ({ main } = require('../dist/src/cli/main.js'));
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes('dist/src/cli/main.js')) {
    console.error('zennas: the TypeScript sources are not built yet; run `npm install` (or `npm run build:ts`) in the zennas folder.');
    process.exit(2);
  }
  throw e;
}
main(process.argv).catch((err) => {
  console.error(`zennas: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
