import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one sidecar (one registry per server, so tests can run several). */
export class Metrics {
  readonly registry = new Registry();
  readonly ingestBytes = new Counter({ name: 'capsight_ingest_bytes_total', help: 'Capture bytes ingested', registers: [this.registry] });
  readonly ingestPackets = new Counter({ name: 'capsight_ingest_packets_total', help: 'Packets ingested', registers: [this.registry] });
  readonly ingestFlows = new Counter({ name: 'capsight_ingest_flows_total', help: 'Flows stored', registers: [this.registry] });
  readonly captures = new Counter({ name: 'capsight_captures_total', help: 'Imports by result', labelNames: ['result'], registers: [this.registry] });
  readonly jobs = new Gauge({ name: 'capsight_jobs', help: 'Ingest jobs in memory by state', labelNames: ['state'], registers: [this.registry] });
  readonly queryLatency = new Histogram({
    name: 'capsight_query_duration_seconds',
    help: 'Query latency by kind',
    labelNames: ['kind'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly queries = new Gauge({ name: 'capsight_queries', help: 'Queries admitted to the store (running, running_heavy) and waiting for a place', labelNames: ['state'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'capsight_process_' });
  }
}
