/** Shared between the app, its data source and its panel: the sidecar's query model (docs/query-model.md). */
export const DATASOURCE_UID = 'capsight';

export type AnomalyKind = 'volume_change' | 'new_values' | 'scan_suspects' | 'failure_surge';
export type QueryKind = 'timeseries' | 'flows' | 'endpoints' | 'peers' | 'protocols' | 'countries' | 'conversations' | 'histogram' | 'captures' | 'values' | 'keys' | AnomalyKind;
export type Metric =
  | 'bytes'
  | 'bytes_sent'
  | 'bytes_received'
  | 'packets'
  | 'packets_sent'
  | 'packets_received'
  | 'flows'
  | 'bits_per_sec'
  | 'packets_per_sec'
  | 'ip_bytes_sent'
  | 'ip_bytes_received'
  | 'ip_packets_sent'
  | 'ip_packets_received'
  | 'retransmissions'
  | 'retrans_rate'
  | 'handshake_rtt'
  | 'resets';
export type Operator = '=' | '!=' | 'in' | '=~' | '!~' | 'cidr' | '>' | '<';

export interface Filter {
  key: string;
  operator: Operator;
  value: string | number | boolean | Array<string | number | boolean>;
}
