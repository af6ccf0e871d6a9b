import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, serveArgOptions } from '../server/config';
import { heapLimited, SERVE_NODE_FLAGS } from '../server/node-flags';
import { setV8FlagSince } from './v8-flag';

/**
 * Node 24's V8 starts a full GC each time ~25 MB of buffers (socket reads, download segments)
 * come and go, and each one marks the geo tables: a 1 GB URL import ran ~34 of them (3.1 s instead
 * of 2.4 s). Counting buffer memory in the global heap limit lets it grow the way the heap does
 * (still bounded). The flag exists from V8 13 (Node 24); Node 20's V8 has no such trigger.
 */
function countBuffersInHeapLimit(): void {
  setV8FlagSince(13, '--external-memory-accounted-in-global-limit');
}

/** `capsight serve`: runs the sidecar until SIGINT/SIGTERM. */
export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: serveArgOptions(), allowPositionals: false });
  let config;
  try {
    config = loadConfig(values as Record<string, string | undefined>);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`capsight serve: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  countBuffersInHeapLimit();
  // Loaded here so the other commands start without the server's dependencies.
  const { createSidecar } = await import('../server/app');
  const sidecar = await createSidecar(config);
  await sidecar.app.listen({ port: config.port, host: config.host });
  if (!heapLimited()) {
    sidecar.app.log.warn(`the heap is not limited: start the sidecar with node ${SERVE_NODE_FLAGS.join(' ')} (npm start and the Dockerfile do) to keep it under 1 GiB under load`);
  }
  if (config.host !== '127.0.0.1' && config.host !== 'localhost' && !config.apiToken) {
    sidecar.app.log.warn({ host: config.host }, 'listening beyond loopback without an API token: set CAPSIGHT_API_TOKEN');
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      void sidecar.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
