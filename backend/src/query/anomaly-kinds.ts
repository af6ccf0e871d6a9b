/**
 * The anomaly detectors' kinds and measures (docs/query-model.md, "Anomaly detectors"); no
 * dependencies, so the query editor in the browser shares the list.
 */
export const ANOMALY_KINDS = ['volume_change', 'new_values', 'scan_suspects', 'failure_surge'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** What each anomaly detector can return as its one number per label set; the first is the default. */
export const MEASURES: Record<AnomalyKind, readonly string[]> = {
  volume_change: ['score', 'ratio', 'current', 'baseline'],
  new_values: ['flows', 'bytes'],
  scan_suspects: ['failed_targets', 'targets', 'hosts', 'ports', 'failed_share', 'flows'],
  failure_surge: ['failed_score', 'failed_share', 'failed_flows', 'dns_error_score', 'dns_error_share', 'dns_errors'],
};

export function isAnomalyKind(kind: string): kind is AnomalyKind {
  return (ANOMALY_KINDS as readonly string[]).includes(kind);
}
