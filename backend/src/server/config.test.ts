import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from './config';
import { CLI_NODE_FLAGS, MALLOC_ENV_ASSIGNMENT, SERVE_NODE_FLAGS } from './node-flags';

describe('sidecar configuration', () => {
  it('takes flags over environment over file over defaults', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-cfg-')), 'c.json');
    fs.writeFileSync(file, JSON.stringify({ port: 1111, concurrency: 3, importDirs: ['/a', '/b'], bucketNs: '100ms' }));
    const c = loadConfig({ config: file, port: '3333' }, { CAPSIGHT_PORT: '2222', CAPSIGHT_CONCURRENCY: '5', CAPSIGHT_DEMO: 'no' });
    expect(c).toMatchObject({ port: 3333, concurrency: 5, importDirs: ['/a', '/b'], bucketNs: 100_000_000, demo: false, dataDir: './data', allowHosts: ['*.blob.core.windows.net'] });
    expect(loadConfig({}, { CAPSIGHT_MAX_UPLOAD_BYTES: '1GiB', CAPSIGHT_IMPORT_ALLOW: 'a:1, b' })).toMatchObject({ maxUploadBytes: 1024 ** 3, importAllow: ['a:1', 'b'] });
  });

  it('names the option and the problem for bad values', () => {
    expect(() => loadConfig({ port: 'eighty' }, {})).toThrow(new ConfigError('--port: expected a whole number, got "eighty"'));
    expect(() => loadConfig({}, { CAPSIGHT_DEMO: 'maybe' })).toThrow(/CAPSIGHT_DEMO: expected true or false/);
    expect(() => loadConfig({ 'idle-timeout': '5 parsecs' }, {})).toThrow(/--idle-timeout/);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-cfg-')), 'c.json');
    fs.writeFileSync(file, '{"prot": 1}');
    expect(() => loadConfig({ config: file }, {})).toThrow(/unknown option "prot"/);
  });
});

describe('the sidecar\'s node flags and environment', () => {
  it('are the same in npm start, the Dockerfile and the tests\' spawned sidecar', () => {
    const root = path.resolve(__dirname, '../../..');
    const start = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start;
    const docker = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(start).toContain(`${MALLOC_ENV_ASSIGNMENT} node ${SERVE_NODE_FLAGS.join(' ')} backend/bin/capsight.js serve`);
    expect(docker).toContain(`ENTRYPOINT ["node", ${SERVE_NODE_FLAGS.map((f) => `"${f}"`).join(', ')}, "backend/bin/capsight.js"]`);
    expect(docker).toMatch(new RegExp(`^ENV [^]*\\s${MALLOC_ENV_ASSIGNMENT}\\n`, 'm'));
  });
});

describe('the capsight command\'s node flags', () => {
  it('are on its #! line', () => {
    const bin = fs.readFileSync(path.resolve(__dirname, '../../bin/capsight.js'), 'utf8');
    expect(bin.split('\n')[0]).toBe(`#!/usr/bin/env -S ${MALLOC_ENV_ASSIGNMENT} node ${CLI_NODE_FLAGS.join(' ')}`);
  });
});
