#!/usr/bin/env node
// `npm install` step: build the native addon with cmake-js, quietly. The compiler and ninja output
// goes to build/install.log; the terminal sees one line on success and the log's end on failure.
// ZENNAS_VERBOSE_INSTALL=1 streams everything instead.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const verbose = process.env.ZENNAS_VERBOSE_INSTALL === '1';
const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
const args = [cmakeJs, 'compile', '--log-level', 'error'];
fs.mkdirSync(path.join(root, 'build'), { recursive: true });
const logFile = path.join(root, 'build', 'install.log');
const log = verbose ? null : fs.openSync(logFile, 'w');
const t0 = Date.now();
const child = spawn(process.execPath, args, { cwd: root, stdio: verbose ? 'inherit' : ['ignore', log, log] });
child.on('error', (e) => { console.error(`zennas: could not start cmake-js: ${e.message}`); process.exit(1); });
child.on('close', (code, signal) => {
  if (log !== null) fs.closeSync(log);
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  if (code === 0) {
    console.log(`zennas: native addon built in ${secs} s${verbose ? '' : ` (log: ${path.relative(process.cwd(), logFile) || logFile})`}`);
    return;
  }
  if (!verbose) {
    const text = fs.readFileSync(logFile, 'utf8');
    const tail = text.split('\n').slice(-60).join('\n');
    console.error(`${tail}\nzennas: building the native addon failed (${signal ? `signal ${signal}` : `exit ${code}`}); the whole log is in ${logFile}; ZENNAS_VERBOSE_INSTALL=1 npm install shows it as it runs`);
  }
  process.exit(code || 1);
});
