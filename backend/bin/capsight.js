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
    // A one-shot command exits as soon as its output is flushed: letting Node tear down the heap
    // of a long run costs 1-2% of `capsight flows` on a 1 GB capture. The sidecar ends on its own.
    if (process.argv[2] !== 'serve') whenFlushed(() => process.exit(code));
  },
  (err) => {
    process.stderr.write(`capsight: internal error: ${err && err.message ? err.message : err}\n`);
    process.exitCode = 70;
  },
);

/** Calls done once everything written to stdout and stderr is out (at once where writes are synchronous). */
function whenFlushed(done) {
  let pending = 2;
  const one = () => {
    if (--pending === 0) done();
  };
  process.stdout.write('', one);
  process.stderr.write('', one);
}
