import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import type { UrlPolicy } from './url-policy';

type Connect = (options: http.ClientRequestArgs, callback: (err: Error | null, socket?: net.Socket) => void) => net.Socket | undefined;

/**
 * Agents that apply the import policy to every connection they open, whoever asks for it (our
 * downloads, the Azure SDK, a redirect either follows): the host is checked against the
 * allow-list, an address literal at once, a name on each of its DNS answers before connecting.
 * A refused connection fails the request with the policy's message; nothing is sent.
 */
function guard<A extends http.Agent>(agent: A, protocol: 'http:' | 'https:', policy: UrlPolicy): A {
  const connect = (agent as unknown as { createConnection: Connect }).createConnection.bind(agent);
  (agent as unknown as { createConnection: Connect }).createConnection = (options, callback) => {
    let lookup: net.LookupFunction;
    try {
      const host = String(options.host ?? options.hostname ?? 'localhost');
      const url = new URL(`${protocol}//${host.includes(':') ? `[${host}]` : host}:${String(options.port ?? (protocol === 'https:' ? 443 : 80))}/`);
      const { exception } = policy.check(url);
      lookup = policy.lookupFor(url, exception);
    } catch (refused) {
      callback(refused as Error);
      return undefined;
    }
    return connect({ ...options, lookup }, callback);
  };
  return agent;
}

export interface GuardedAgents {
  http: http.Agent;
  https: https.Agent;
}

export function guardedAgents(policy: UrlPolicy): GuardedAgents {
  return {
    http: guard(new http.Agent({ keepAlive: true }), 'http:', policy),
    https: guard(new https.Agent({ keepAlive: true }), 'https:', policy),
  };
}
