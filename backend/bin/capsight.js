#!/usr/bin/env node
'use strict';
let cli;
try {
  cli = require('../dist/cli/main.js');
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND') {
    process.stderr.write('capsight: not built yet; run "npm ci" (or "npm run build") in the repository first\n');
    process.exit(2);
  }
  throw e;
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`capsight: internal error: ${err && err.message ? err.message : err}\n`);
    process.exitCode = 70;
  },
);
