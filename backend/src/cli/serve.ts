import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, serveArgOptions } from '../server/config';

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
  // Loaded here so the other commands start without the server's dependencies.
  const { createSidecar } = await import('../server/app');
  const sidecar = await createSidecar(config);
  await sidecar.app.listen({ port: config.port, host: config.host });
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
