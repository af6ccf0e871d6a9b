import { createHash } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { CONTROLLER_PROTO, HEALTH_PROTO, PLUGINV2_PROTO } from '../protocol/definitions';

/**
 * A plugin host that does what Grafana does with a backend plugin (hashicorp/go-plugin's client,
 * as Grafana configures it), for tests: no real Grafana runs on these machines.
 * - Starts the built executable with Grafana's environment: the magic cookie, the protocol
 *   versions, the port range, GF_VERSION; a PATH with no `node` on it; as UID 472 (Grafana's user
 *   in its Docker images) when the test runs as root.
 * - Reads the first stdout line within Grafana's 60 s start timeout and parses the handshake;
 *   anything else first is the "Unrecognized remote plugin message" failure.
 * - Talks gRPC with message definitions loaded from the Go SDK's own backend.proto
 *   (../shared/grafana/sdk-go), so what the plugin sends is read with Grafana's definitions.
 * - Stops it like go-plugin's Kill(): the controller's Shutdown, then SIGKILL after 2 s.
 */
export const SDK_DIR = path.resolve(__dirname, '../../../../shared/grafana/sdk-go');
export const BACKEND_PROTO = path.join(SDK_DIR, 'backend.proto');
const ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';
export const BINARY = path.resolve(__dirname, `../../../dist/datasource/gpx_capsight_flows_linux_${ARCH}`);
export const GRAFANA_UID = 472;
const START_TIMEOUT_MS = 60_000;

export function sdkAvailable(): boolean {
  return fs.existsSync(BACKEND_PROTO);
}

export function sdkNotice(what: string): void {
  process.stderr.write(`\n*** SKIPPED: ${what}: ${SDK_DIR} not found (the shared folder with the Go SDK's backend.proto sits beside the clone in CI) ***\n\n`);
}

export interface Handshake {
  core: number;
  app: number;
  network: string;
  address: string;
  protocol: string;
}

export function parseHandshake(line: string): Handshake {
  const parts = line.trim().split('|');
  if (parts.length !== 5) throw new Error(`Unrecognized remote plugin message: ${line}`);
  const [core, app, network, address, protocol] = parts;
  return { core: Number(core), app: Number(app), network, address, protocol };
}

type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;

function clientsFor(handshake: Handshake): { data: Client; diagnostics: Client; resource: Client; health: Client; controller: Client } {
  const target = handshake.network === 'unix' ? `unix://${handshake.address}` : handshake.address;
  const options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };
  const fromText = (text: string) => grpc.loadPackageDefinition(protoLoader.fromJSON(protobuf.parse(text, { keepCase: true }).root.toJSON(), options));
  // Grafana's own definitions where the shared folder is there (the plugin tests skip without it);
  // without it the front end's tests, which only need a working host, use the plugin's own.
  const v2 = (sdkAvailable() ? grpc.loadPackageDefinition(protoLoader.loadSync(BACKEND_PROTO, options)) : fromText(PLUGINV2_PROTO)).pluginv2 as Record<string, grpc.ServiceClientConstructor>;
  const health = ((fromText(HEALTH_PROTO).grpc as grpc.GrpcObject).health as grpc.GrpcObject).v1 as Record<string, grpc.ServiceClientConstructor>;
  const controller = fromText(CONTROLLER_PROTO).plugin as Record<string, grpc.ServiceClientConstructor>;
  const creds = grpc.credentials.createInsecure();
  const opts = { 'grpc.max_receive_message_length': -1 };
  return {
    data: new v2.Data(target, creds, opts) as unknown as Client,
    diagnostics: new v2.Diagnostics(target, creds, opts) as unknown as Client,
    resource: new v2.Resource(target, creds, opts) as unknown as Client,
    health: new health.Health(target, creds) as unknown as Client,
    controller: new controller.GRPCController(target, creds) as unknown as Client,
  };
}

export interface HostOptions {
  binary?: string;
  /** Extra environment (added to Grafana's). */
  env?: Record<string, string>;
  /** Run as Grafana's UID 472 (default: when the test runs as root). */
  asGrafanaUser?: boolean;
  /**
   * The whole command line instead of the binary alone: a chroot (as UID 472, with tcp: a socket
   * path would be the jail's), or an emulator for the other architecture's binary.
   */
  command?: string[];
}

export interface PluginHost {
  child: ChildProcess;
  handshake: Handshake;
  /** Milliseconds from spawn to the handshake line. */
  startMs: number;
  /** Everything the plugin wrote to stdout (the handshake line, and nothing else). */
  stdout(): string;
  /** Its stderr lines. */
  stderrLines(): string[];
  unary<T>(service: 'data' | 'diagnostics' | 'health' | 'controller', method: string, request: unknown, options?: { deadline?: number; signal?: AbortSignal }): Promise<T>;
  /** CallResource's stream, collected. */
  resource(request: unknown): Promise<{ code: number; headers: Record<string, { values: string[] }>; body: Buffer }[]>;
  /** go-plugin's Kill: Shutdown over gRPC, then SIGKILL if the process is still there after 2 s. */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null; graceful: boolean }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Grafana's environment for a plugin process; PATH is an empty directory, so no `node` can be found. */
export function grafanaEnv(extra: Record<string, string> = {}): Record<string, string> {
  const emptyPath = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-nopath-'));
  fs.chmodSync(emptyPath, 0o755);
  return {
    grafana_plugin_type: 'datasource',
    PLUGIN_MIN_PORT: '10000',
    PLUGIN_MAX_PORT: '25000',
    PLUGIN_PROTOCOL_VERSIONS: '2',
    GF_VERSION: '12.4.10',
    GF_EDITION: 'oss',
    GF_PLUGIN_APP_CLIENT_SECRET: '',
    PATH: emptyPath,
    ...extra,
  };
}

/** Whether a command can be found with this environment's PATH (the no-node check). */
export function onPath(cmd: string, env: Record<string, string>): boolean {
  return spawnSync('/bin/sh', ['-c', `command -v ${cmd}`], { env }).status === 0;
}

/**
 * The binary at a path Grafana's user (UID 472, group 0) can reach: itself when every directory
 * above it lets that user through, else a copy in a directory of its own under the temp directory
 * (a checkout inside a 0700 directory, as `mktemp -d` makes, is closed to UID 472). One copy per
 * build of the binary, shared by the test processes (written under a temporary name, then renamed).
 */
function reachableByGrafana(binary: string): string {
  const open = (dir: string): boolean => {
    const st = fs.statSync(dir);
    return (st.mode & 0o001) !== 0 || (st.gid === 0 && (st.mode & 0o010) !== 0);
  };
  const resolved = path.resolve(binary);
  let reachable = true;
  for (let dir = path.dirname(resolved); ; dir = path.dirname(dir)) {
    if (!open(dir)) reachable = false;
    if (path.dirname(dir) === dir) break;
  }
  if (reachable) return binary;
  const st = fs.statSync(resolved);
  const home = path.join(os.tmpdir(), `capsight-plugin-bin-${createHash('sha256').update(`${resolved} ${st.size} ${st.mtimeMs}`).digest('hex').slice(0, 16)}`);
  const copy = path.join(home, path.basename(resolved));
  if (!fs.existsSync(copy)) {
    fs.mkdirSync(home, { recursive: true, mode: 0o755 });
    fs.chmodSync(home, 0o755);
    const part = `${copy}.${process.pid}.part`;
    fs.copyFileSync(resolved, part);
    fs.chmodSync(part, 0o755);
    fs.renameSync(part, copy);
  }
  return copy;
}

export async function startPlugin(opts: HostOptions = {}): Promise<PluginHost> {
  const binary = opts.binary ?? BINARY;
  if (!fs.existsSync(binary)) throw new Error(`${binary} not built: npm run build`);

  const env = grafanaEnv(opts.env);
  const asGrafana = opts.asGrafanaUser ?? process.getuid?.() === 0;
  const began = performance.now();
  const [command, ...args] = opts.command ?? [asGrafana ? reachableByGrafana(binary) : binary];
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...(asGrafana && !opts.command ? { uid: GRAFANA_UID, gid: 0 } : {}) });
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no handshake within ${START_TIMEOUT_MS / 1000} s; stderr: ${err}`)), START_TIMEOUT_MS);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`plugin exited (${code ?? signal}) before its handshake; stderr: ${err}`));
    });
  });
  const startMs = performance.now() - began;
  const handshake = parseHandshake(line);
  const clients = clientsFor(handshake);
  const unary = <T>(service: keyof typeof clients, method: string, request: unknown, o: { deadline?: number; signal?: AbortSignal } = {}): Promise<T> =>
    new Promise((resolve, reject) => {
      const callOptions = o.deadline ? { deadline: Date.now() + o.deadline } : {};
      const call = (clients[service][method] as (...a: unknown[]) => grpc.ClientUnaryCall).call(clients[service], request, new grpc.Metadata(), callOptions, (e: grpc.ServiceError | null, res: T) => (e ? reject(e) : resolve(res)));
      o.signal?.addEventListener('abort', () => call.cancel(), { once: true });
    });
  return {
    child,
    handshake,
    startMs,
    stdout: () => out,
    stderrLines: () => err.split('\n').filter((l) => l !== ''),
    unary,
    resource: (request) =>
      new Promise((resolve, reject) => {
        const messages: { code: number; headers: Record<string, { values: string[] }>; body: Buffer }[] = [];
        const stream = (clients.resource.CallResource as (r: unknown) => grpc.ClientReadableStream<(typeof messages)[number]>).call(clients.resource, request);
        stream.on('data', (m) => messages.push(m));
        stream.on('end', () => resolve(messages));
        stream.on('error', reject);
      }),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return { ...(await exited), graceful: true };
      let graceful = true;
      try {
        await unary('controller', 'Shutdown', {}, { deadline: 2000 });
      } catch {
        graceful = false;
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      const r = await exited;
      clearTimeout(timer);
      for (const c of Object.values(clients)) c.close();
      return { ...r, graceful: graceful && r.signal !== 'SIGKILL' };
    },
    exited,
  };
}

/** A data source instance's settings as Grafana sends them in every call's plugin context. */
export function pluginContext(o: { url: string; token?: string; uid?: string; id?: number; updated?: number; timeoutSec?: number; role?: string }): Record<string, unknown> {
  return {
    orgId: 1,
    pluginId: 'capsight-flows-datasource',
    pluginVersion: '0.1.0',
    user: o.role === '' ? null : { login: 'admin', name: 'Admin', email: 'admin@localhost', role: o.role ?? 'Admin' },
    dataSourceInstanceSettings: {
      id: o.id ?? 1,
      uid: o.uid ?? 'capsight',
      name: 'Capsight',
      jsonData: Buffer.from(JSON.stringify({ url: o.url, ...(o.timeoutSec ? { timeoutSec: o.timeoutSec } : {}) })),
      decryptedSecureJsonData: o.token ? { apiToken: o.token } : {},
      lastUpdatedMS: o.updated ?? 1,
    },
  };
}
