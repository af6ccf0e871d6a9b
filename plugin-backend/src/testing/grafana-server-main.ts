import { startGrafanaStandIn } from './grafana-server';

/**
 * The Grafana stand-in as its own process, for the front end's jsdom tests (which cannot load
 * gRPC): `tsx grafana-server-main.ts <sidecar url> [token] [role]`; prints "listening <url>", stops
 * on SIGTERM (and stops the plugin with it).
 */
async function main(): Promise<void> {
  const [sidecarUrl, token, role] = process.argv.slice(2);
  const g = await startGrafanaStandIn({ sidecarUrl, token: token || undefined, role: role || undefined });
  process.stdout.write(`listening ${g.url}\n`);
  const stop = (): void => {
    void g.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
