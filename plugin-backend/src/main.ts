import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createContext } from './context';
import { checkHost, handshakeLine, HandshakeError, listenTarget, socketBase, tcpPorts, type ListenTarget } from './go-plugin/handshake';
import { removeStaleSocketDirs } from './go-plugin/stale-sockets';
import { hclogLogger, levelFromEnv, type Logger } from './go-plugin/hclog';
import { InstanceManager } from './instances';
import { PluginMetrics } from './metrics';
import { createServer } from './server';

/**
 * gpx_capsight_flows: the Capsight data source's backend, the process Grafana starts from the
 * plugin directory. Checks it was started by Grafana, serves gRPC, prints the handshake line (the
 * only thing ever written to stdout), logs hclog JSON on stderr, and stops gracefully on the
 * host's Shutdown call, on SIGTERM, or when Grafana (its parent) is gone.
 */
const EXECUTABLE = 'gpx_capsight_flows';
/** In-flight calls get this long to finish once a stop begins; then the server is closed hard. */
const STOP_GRACE_MS = 5000;

async function bindServer(server: grpc.Server, target: ListenTarget, env: NodeJS.ProcessEnv): Promise<string> {
  const bind = (address: string): Promise<number> =>
    new Promise((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
  if (target.network === 'unix') {
    await bind(target.bind);
    return target.bind.replace(/^unix:\/\//, '');
  }
  let last: unknown;
  for (const port of tcpPorts(env)) {
    try {
      await bind(`127.0.0.1:${port}`);
      return `127.0.0.1:${port}`;
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`no free port in ${env.PLUGIN_MIN_PORT ?? 10000}-${env.PLUGIN_MAX_PORT ?? 25000}: ${(last as Error)?.message}`);
}

function stopper(server: grpc.Server, instances: InstanceManager, target: ListenTarget, log: Logger): (why: string) => void {
  let stopping = false;
  return (why) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { reason: why });
    const hard = setTimeout(() => server.forceShutdown(), STOP_GRACE_MS);
    server.tryShutdown(() => {
      clearTimeout(hard);
      instances.closeAll();
      if (target.cleanup) fs.rmSync(target.cleanup, { recursive: true, force: true });
      log.info('stopped');
      process.exit(0);
    });
  };
}

async function main(): Promise<void> {
  const executable = path.basename(process.execPath).startsWith('gpx_') ? path.basename(process.execPath) : EXECUTABLE;
  try {
    checkHost(process.env, executable);
  } catch (e) {
    if (!(e instanceof HandshakeError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  const log = hclogLogger((line) => process.stderr.write(line), levelFromEnv(process.env));
  process.on('uncaughtException', (e) => {
    log.error('unexpected error', { error: e.message, stack: e.stack });
    process.exit(1);
  });
  const instances = new InstanceManager();
  const metrics = new PluginMetrics();
  const ctx = createContext(instances, log, metrics);
  let stop: (why: string) => void = () => undefined;
  const server = createServer(ctx, () => stop('the host asked to shut down'));
  const target = listenTarget(process.env);
  stop = stopper(server, instances, target, log);
  const address = await bindServer(server, target, process.env);
  fs.writeSync(1, handshakeLine(target.network, address));
  log.info('serving', { network: target.network, address, version: process.env.GF_VERSION ?? 'unknown', pid: process.pid });
  // After the handshake, so Grafana never waits for it.
  removeStaleSocketDirs(socketBase(process.env), target.cleanup).then(
    (removed) => removed.length > 0 && log.debug('removed socket directories of killed plugin processes', { directories: removed.join(' ') }),
    (e: unknown) => log.debug('could not remove stale socket directories', { error: (e as Error).message }),
  );

  process.on('SIGTERM', () => stop('SIGTERM'));
  // Like go-plugin's servers: an interrupt meant for Grafana's terminal is not for the plugin;
  // Grafana stops its plugins itself.
  process.on('SIGINT', () => log.debug('interrupt ignored: Grafana stops its plugins'));
  // Grafana killed hard leaves this process to init: then nobody will ever call it again.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop('Grafana (the parent process) is gone');
  }, 2000).unref();
}

void main();
