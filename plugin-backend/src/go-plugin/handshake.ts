import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The go-plugin handshake, as Grafana's plugin host (hashicorp/go-plugin) runs it:
 * - the host sets the magic cookie `grafana_plugin_type=datasource` (the same value for every
 *   Grafana plugin type) and the protocol versions it speaks in PLUGIN_PROTOCOL_VERSIONS;
 * - the plugin answers with exactly one line on stdout:
 *   `CORE-PROTOCOL|APP-PROTOCOL|NETWORK|ADDRESS|grpc`, core protocol 1, Grafana's protocol 2,
 *   network `unix` (a socket path) or `tcp` (host:port);
 * - anything else on stdout first fails the start ("Unrecognized remote plugin message").
 */
export const MAGIC_COOKIE_KEY = 'grafana_plugin_type';
export const MAGIC_COOKIE_VALUE = 'datasource';
export const CORE_PROTOCOL = 1;
export const GRAFANA_PROTOCOL = 2;

export class HandshakeError extends Error {}

/** Refuses a start that is not Grafana's: no cookie, or no common protocol version. */
export function checkHost(env: NodeJS.ProcessEnv, executable: string): void {
  if (env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) {
    throw new HandshakeError(
      `${executable} is the Capsight data source's backend: Grafana starts it (it sets ${MAGIC_COOKIE_KEY}=${MAGIC_COOKIE_VALUE}); it is not a program to run by hand`,
    );
  }
  const offered = (env.PLUGIN_PROTOCOL_VERSIONS ?? String(GRAFANA_PROTOCOL)).split(',').map((v) => Number(v.trim()));
  if (!offered.includes(GRAFANA_PROTOCOL)) {
    throw new HandshakeError(`${executable} speaks Grafana plugin protocol ${GRAFANA_PROTOCOL}; the host offers ${env.PLUGIN_PROTOCOL_VERSIONS}`);
  }
}

export interface ListenTarget {
  /** What grpc-js binds: unix:///path or 127.0.0.1:port. */
  bind: string;
  network: 'unix' | 'tcp';
  /** Socket directory to remove on exit (unix only). */
  cleanup?: string;
}

/**
 * Where to listen. Like go-plugin's own servers on Linux, a unix socket: in a private directory
 * (mode 0700, so only Grafana's user can connect) under PLUGIN_UNIX_SOCKET_DIR or the temporary
 * directory. CAPSIGHT_PLUGIN_NETWORK=tcp listens on 127.0.0.1 instead, on a port in
 * [PLUGIN_MIN_PORT, PLUGIN_MAX_PORT] (the host's range; `tcpPorts` lists the candidates).
 */
export function listenTarget(env: NodeJS.ProcessEnv): ListenTarget {
  if ((env.CAPSIGHT_PLUGIN_NETWORK ?? 'unix') === 'tcp') return { bind: '', network: 'tcp' };
  const dir = fs.mkdtempSync(path.join(socketBase(env), SOCKET_DIR_PREFIX));
  fs.chmodSync(dir, 0o700);
  return { bind: `unix://${path.join(dir, SOCKET_FILE)}`, network: 'unix', cleanup: dir };
}

/** A unix socket's directory is SOCKET_DIR_PREFIX and mkdtemp's six characters; the socket in it is SOCKET_FILE. */
export const SOCKET_DIR_PREFIX = 'capsight-plugin-';
export const SOCKET_FILE = 'grpc.sock';

/** The directory the socket directories are made in. */
export function socketBase(env: NodeJS.ProcessEnv): string {
  return env.PLUGIN_UNIX_SOCKET_DIR || os.tmpdir();
}

/** Candidate ports for tcp: the host's range in a random order (several plugins start at once). */
export function tcpPorts(env: NodeJS.ProcessEnv, random = Math.random): number[] {
  const min = Number(env.PLUGIN_MIN_PORT ?? 10000);
  const max = Number(env.PLUGIN_MAX_PORT ?? 25000);
  if (!(Number.isInteger(min) && Number.isInteger(max) && min > 0 && max >= min && max < 65536)) {
    throw new HandshakeError(`PLUGIN_MIN_PORT/PLUGIN_MAX_PORT (${env.PLUGIN_MIN_PORT}/${env.PLUGIN_MAX_PORT}) is not a port range`);
  }
  const start = min + Math.floor(random() * (max - min + 1));
  const ports: number[] = [];
  for (let i = 0; i <= max - min && ports.length < 64; i++) ports.push(min + ((start - min + i) % (max - min + 1)));
  return ports;
}

export function handshakeLine(network: 'unix' | 'tcp', address: string): string {
  return `${CORE_PROTOCOL}|${GRAFANA_PROTOCOL}|${network}|${address}|grpc\n`;
}
