import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The plugin's own Prometheus metrics, which Grafana collects through Diagnostics/CollectMetrics. */
export class PluginMetrics {
  readonly registry = new Registry();
  readonly calls = new Counter({ name: 'capsight_plugin_calls_total', help: 'gRPC calls from Grafana by method and outcome', labelNames: ['method', 'outcome'], registers: [this.registry] });
  readonly sidecar = new Histogram({
    name: 'capsight_plugin_sidecar_request_duration_seconds',
    help: 'Requests to the sidecar by route and outcome (ok, http status class, unreachable, timeout, cancelled)',
    labelNames: ['route', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly instances = new Gauge({ name: 'capsight_plugin_instances', help: 'Data source instances with a sidecar client', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'capsight_plugin_' });
  }
}
