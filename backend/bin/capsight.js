#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node --max-old-space-size=512 --max-semi-space-size=8
'use strict';
// One-shot commands load the CLI bundled into one file (build:backend): resolving and reading
// thirty modules cost ~5 ms of every run. The sidecar loads its modules as they are.
const entry = process.argv[2] === 'serve' ? '../dist/cli/main.js' : '../dist/cli/main.bundle.js';
let cli;
try {
  cli = require(entry);
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
