import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * One temporary directory per test run (jest's globalSetup and globalTeardown): the workers and
 * every process they start inherit it as TMPDIR, so the data directories, captures and other files
 * that tests make under os.tmpdir() go away with the run instead of piling up in /tmp (several GB a
 * run: kept packets of generated captures).
 */
const VARIABLE = 'CAPSIGHT_TEST_RUN_DIR';

export function createRunTmpdir(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-jest-'));
  // Others may pass through (not list): the plugin tests run the binary as Grafana's UID 472 from a
  // directory they open to it in here (plugin-backend/src/testing/plugin-host.ts). What each test
  // makes with mkdtemp stays its own (0700).
  fs.chmodSync(dir, 0o711);
  process.env[VARIABLE] = dir;
  process.env.TMPDIR = dir;
}

export function removeRunTmpdir(): void {
  const dir = process.env[VARIABLE];
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
