import React, { useEffect, useState } from 'react';
import type { QueryEditorProps, SelectableValue } from '@grafana/data';
import { Button, InlineField, InlineSwitch, Input, MultiSelect, Select, Stack } from '@grafana/ui';
import { MEASURES, type AnomalyKind } from '../../backend/src/query/anomaly-kinds';
import type { DataSource } from './datasource';
import { migrateQuery } from './query/migrate';
import type { CapsightOptions, CapsightQuery } from './types';
import type { Filter, Metric, Operator, QueryKind } from '../types';

type Props = QueryEditorProps<DataSource, CapsightQuery, CapsightOptions>;

const KINDS: Array<SelectableValue<QueryKind>> = [
  { label: 'Time series', value: 'timeseries' },
  { label: 'Flow table', value: 'flows' },
  { label: 'Endpoints (per IP)', value: 'endpoints' },
  { label: 'Peers of the filtered IPs', value: 'peers', description: 'who the addresses of the "ip" filters talked to, from their side' },
  { label: 'Protocols', value: 'protocols' },
  { label: 'Countries', value: 'countries' },
  { label: 'Conversations', value: 'conversations' },
  { label: 'Duration histogram', value: 'histogram' },
  { label: 'Captures', value: 'captures' },
  { label: 'Anomaly: volume change', value: 'volume_change', description: 'last window against the baseline windows before it, per group' },
  { label: 'Anomaly: new values', value: 'new_values', description: 'countries, ASNs, ports, names seen in the window and not before' },
  { label: 'Anomaly: scan suspects', value: 'scan_suspects', description: 'per initiator: targets, hosts, ports, failed connections' },
  { label: 'Anomaly: failure surge', value: 'failure_surge', description: 'failed connections and DNS errors against the baseline' },
];

const ANOMALY_KINDS = new Set<string>(Object.keys(MEASURES));
const WINDOW_ENDS: Array<SelectableValue<'range' | 'data'>> = [
  { label: 'Range end', value: 'range', description: 'the window ends at the end of the time range' },
  { label: 'Last traffic', value: 'data', description: 'the window ends at the last traffic in the range (captures arrive late)' },
];

const METRICS: Array<SelectableValue<Metric>> = [
  { label: 'Bytes', value: 'bytes' },
  { label: 'Bits/s', value: 'bits_per_sec', description: 'rate: the same at any zoom' },
  { label: 'Packets', value: 'packets' },
  { label: 'Packets/s', value: 'packets_per_sec', description: 'rate: the same at any zoom' },
  { label: 'Flows started', value: 'flows' },
  { label: 'Bytes initiator to responder', value: 'bytes_sent' },
  { label: 'Bytes responder to initiator', value: 'bytes_received' },
  { label: 'Packets initiator to responder', value: 'packets_sent' },
  { label: 'Packets responder to initiator', value: 'packets_received' },
  { label: 'Bytes sent by the filtered IPs', value: 'ip_bytes_sent', description: 'what the addresses of the "ip" filters sent, as client or server' },
  { label: 'Bytes received by the filtered IPs', value: 'ip_bytes_received' },
  { label: 'Packets sent by the filtered IPs', value: 'ip_packets_sent' },
  { label: 'Packets received by the filtered IPs', value: 'ip_packets_received' },
];

/** Time series only: TCP health (docs/tcp-health.md). */
const TCP_METRICS: Array<SelectableValue<Metric>> = [
  { label: 'TCP retransmissions', value: 'retransmissions', description: "segments Wireshark's analysis calls retransmissions" },
  { label: 'TCP retransmission rate', value: 'retrans_rate', description: 'retransmitted segments per hundred TCP packets' },
  { label: 'TCP handshake RTT (median)', value: 'handshake_rtt', description: 'of the flows started in each step, at the capture point' },
  { label: 'TCP flows reset', value: 'resets' },
];

const OPERATORS: Array<SelectableValue<Operator>> = ['=', '!=', 'in', '=~', '!~', 'cidr', '>', '<'].map((o) => ({ label: o, value: o as Operator }));
const SIDES: Array<SelectableValue<string>> = [
  { label: 'Both ends', value: 'both' },
  { label: 'Remote end', value: 'remote' },
  { label: 'Initiator', value: 'src' },
  { label: 'Responder', value: 'dst' },
];

const valueText = (v: Filter['value']) => (Array.isArray(v) ? v.join(',') : String(v));

/** Sortable columns per table kind (the sidecar's names). */
const SORTABLE: Record<string, string[]> = {
  flows: ['first', 'last', 'bytes', 'src_bytes', 'dst_bytes', 'src_pkts', 'dst_pkts', 'duration_ms', 'src', 'dst', 'dport', 'app', 'server_name', 'src_country', 'dst_country'],
  endpoints: ['bytes', 'bytes_sent', 'bytes_received', 'packets_sent', 'packets_received', 'flows', 'flows_initiated', 'peers', 'ip', 'country'],
  conversations: ['bytes', 'src_bytes', 'dst_bytes', 'src_pkts', 'dst_pkts', 'flows', 'first', 'last', 'src', 'dst'],
  peers: ['bytes', 'bytes_sent', 'bytes_received', 'packets_sent', 'packets_received', 'flows', 'first', 'last', 'peer', 'peer_country'],
};
const FLOW_COLUMNS = [
  'first', 'last', 'duration_ms', 'proto', 'src', 'sport', 'dst', 'dport', 'app', 'server_name', 'state', 'src_pkts', 'src_bytes', 'dst_pkts', 'dst_bytes', 'bytes',
  'src_country', 'dst_country', 'src_asn', 'dst_asn', 'src_as_org', 'dst_as_org', 'vlan', 'tunnel', 'alpn', 'http_method', 'dns_rcode', 'ssh_banner', 'capture_id',
].map((c) => ({ label: c, value: c }));

/**
 * Visual editor for every kind the sidecar answers: metric, group by (any dimension), top N,
 * limit, side, a capture picker and a filter builder with the sidecar's operators.
 */
export function QueryEditor({ query: saved, onChange, onRunQuery, datasource }: Props) {
  // A saved query of an older shape is edited (and saved back) in the current one.
  const query = migrateQuery(saved);
  const [keys, setKeys] = useState<Array<SelectableValue<string>>>([]);
  const [captures, setCaptures] = useState<Array<SelectableValue<string>>>([]);
  useEffect(() => {
    datasource.getTagKeys().then((k) => setKeys(k.map((x) => ({ label: String(x.text), value: String(x.value ?? x.text) })))).catch(() => setKeys([]));
    datasource.metricFindQuery('values capture').then((c) => setCaptures(c.map((x) => ({ label: String(x.text), value: String(x.value ?? x.text) })))).catch(() => setCaptures([]));
  }, [datasource]);

  const set = (patch: Partial<CapsightQuery>, run = true) => {
    onChange({ ...query, ...patch });
    if (run) {
      onRunQuery();
    }
  };
  const filters = query.filters ?? [];
  const captureFilter = filters.find((f) => f.key === 'capture' && f.operator === 'in');
  const otherFilters = filters.filter((f) => f !== captureFilter);
  const setFilters = (others: Filter[], picked = captureFilter, run = true) => set({ filters: picked ? [picked, ...others] : others }, run);
  const setFilter = (i: number, patch: Partial<Filter>, run = true) => setFilters(otherFilters.map((f, j) => (j === i ? { ...f, ...patch } : f)), captureFilter, run);
  const kind = query.kind ?? 'timeseries';
  const sortBy = query.sort?.by ?? (kind === 'flows' ? 'first' : 'bytes');

  return (
    <Stack direction="column" gap={1}>
      <Stack direction="row" gap={1} wrap="wrap">
        <InlineField label="Kind" labelWidth={10}>
          <Select inputId="capsight-kind" width={24} options={KINDS} value={kind} onChange={(v) => set({ kind: v.value ?? 'timeseries' })} />
        </InlineField>
        {kind === 'timeseries' && (
          <InlineField label="Metric" labelWidth={10}>
            <Select inputId="capsight-metric" width={20} options={[...METRICS, ...TCP_METRICS]} value={query.metric ?? 'bytes'} onChange={(v) => set({ metric: v.value })} />
          </InlineField>
        )}
        {kind === 'volume_change' && (
          <InlineField label="Metric" labelWidth={10}>
            <Select inputId="capsight-metric" width={20} options={METRICS} value={query.metric ?? 'bytes'} onChange={(v) => set({ metric: v.value })} />
          </InlineField>
        )}
        {kind === 'new_values' && (
          <InlineField label="Key" labelWidth={10} tooltip="The dimension whose new values to find">
            <Select inputId="capsight-key" width={20} options={keys} value={query.key ?? null} onChange={(v) => set({ key: v?.value })} />
          </InlineField>
        )}
        {ANOMALY_KINDS.has(kind) && (
          <>
            <InlineField label="Measure" labelWidth={10} tooltip="The one number per label set the answer (and an alert rule) has">
              <Select
                inputId="capsight-measure"
                width={20}
                options={MEASURES[kind as AnomalyKind].map((m) => ({ label: m, value: m }))}
                value={query.measure ?? MEASURES[kind as AnomalyKind][0]}
                onChange={(v) => set({ measure: v.value })}
              />
            </InlineField>
            <InlineField label="Window (min)" labelWidth={14} tooltip="The window analysed; the rest of the time range is the baseline">
              <Input id="capsight-window" type="number" width={8} min={1} value={(query.windowMs ?? 300_000) / 60_000} onChange={(e) => set({ windowMs: Math.max(1, Number(e.currentTarget.value) || 5) * 60_000 }, false)} onBlur={onRunQuery} />
            </InlineField>
            <InlineField label="Window ends at" labelWidth={14}>
              <Select inputId="capsight-window-end" width={16} options={WINDOW_ENDS} value={query.windowEnd ?? 'range'} onChange={(v) => set({ windowEnd: v.value })} />
            </InlineField>
          </>
        )}
        {(kind === 'timeseries' || kind === 'protocols' || kind === 'volume_change' || kind === 'failure_surge') && (
          <InlineField label="Group by" labelWidth={10}>
            <Select
              inputId="capsight-groupby"
              width={20}
              isClearable
              options={keys.filter((k) => !['ip', 'port', 'country', 'asn'].includes(String(k.value)))}
              value={query.groupBy?.[0] ?? null}
              onChange={(v) => set({ groupBy: v?.value ? [v.value] : [] })}
            />
          </InlineField>
        )}
        {kind === 'countries' && (
          <InlineField label="Side" labelWidth={10}>
            <Select inputId="capsight-side" width={16} options={SIDES} value={query.side ?? 'both'} onChange={(v) => set({ side: v.value as CapsightQuery['side'] })} />
          </InlineField>
        )}
        {(kind === 'timeseries' || kind === 'protocols' || kind === 'countries' || ANOMALY_KINDS.has(kind)) && (
          <InlineField label="Top N" labelWidth={10}>
            <Input id="capsight-topn" type="number" width={8} value={query.topN ?? 10} onChange={(e) => set({ topN: Number(e.currentTarget.value) || 10 }, false)} onBlur={onRunQuery} />
          </InlineField>
        )}
        {(kind === 'flows' || kind === 'endpoints' || kind === 'conversations' || kind === 'peers') && (
          <>
            <InlineField label="Sort" labelWidth={10}>
              <Select
                inputId="capsight-sort"
                width={18}
                options={SORTABLE[kind].map((c) => ({ label: c, value: c }))}
                value={sortBy}
                onChange={(v) => set({ sort: { by: v.value ?? 'bytes', desc: query.sort?.desc ?? true } })}
              />
            </InlineField>
            <InlineField label="Descending" labelWidth={12}>
              <InlineSwitch id="capsight-desc" value={query.sort?.desc ?? true} onChange={(e) => set({ sort: { by: sortBy, desc: e.currentTarget.checked } })} />
            </InlineField>
            <InlineField label="Rows" labelWidth={8}>
              <Input id="capsight-limit" type="number" width={8} value={query.limit ?? 100} onChange={(e) => set({ limit: Number(e.currentTarget.value) || 100 }, false)} onBlur={onRunQuery} />
            </InlineField>
            <InlineField label="Page" labelWidth={8} tooltip="Page of rows (first page: 1)">
              <Input
                id="capsight-page"
                type="number"
                width={8}
                min={1}
                value={Math.floor((query.offset ?? 0) / (query.limit ?? 100)) + 1}
                onChange={(e) => set({ offset: (Math.max(1, Number(e.currentTarget.value) || 1) - 1) * (query.limit ?? 100) }, false)}
                onBlur={onRunQuery}
              />
            </InlineField>
          </>
        )}
      </Stack>
      {kind === 'flows' && (
        <InlineField label="Columns" labelWidth={10} tooltip="Columns to show (none: all)">
          <MultiSelect inputId="capsight-columns" width={80} options={FLOW_COLUMNS} value={query.columns ?? []} onChange={(v) => set({ columns: v.map((x) => String(x.value)) })} />
        </InlineField>
      )}
      <InlineField label="Captures" labelWidth={10} tooltip="Only these captures (none: all)">
        <MultiSelect
          inputId="capsight-captures"
          width={60}
          options={captures}
          value={(captureFilter?.value as string[] | undefined) ?? []}
          onChange={(v) => {
            const ids = v.map((x) => String(x.value));
            setFilters(otherFilters, ids.length > 0 ? { key: 'capture', operator: 'in', value: ids } : undefined);
          }}
        />
      </InlineField>
      {otherFilters.map((f, i) => (
        <Stack key={i} direction="row" gap={1}>
          <Select aria-label={`Filter ${i + 1} key`} width={20} options={keys} value={f.key} onChange={(v) => setFilter(i, { key: v.value ?? f.key })} />
          <Select aria-label={`Filter ${i + 1} operator`} width={10} options={OPERATORS} value={f.operator} onChange={(v) => setFilter(i, { operator: v.value ?? '=' })} />
          <Input
            aria-label={`Filter ${i + 1} value`}
            width={30}
            value={valueText(f.value)}
            placeholder={f.operator === 'in' ? 'a,b,c' : f.operator === 'cidr' ? '10.0.0.0/8' : 'value or $variable'}
            onChange={(e) => {
              const text = e.currentTarget.value;
              setFilter(i, { value: f.operator === 'in' ? text.split(',') : text }, false);
            }}
            onBlur={onRunQuery}
          />
          <Button aria-label={`Remove filter ${i + 1}`} icon="trash-alt" variant="secondary" onClick={() => setFilters(otherFilters.filter((_, j) => j !== i))} />
        </Stack>
      ))}
      <div>
        <Button icon="plus" variant="secondary" size="sm" onClick={() => onChange({ ...query, filters: [...filters, { key: 'app', operator: '=', value: '' }] })}>
          Filter
        </Button>
      </div>
    </Stack>
  );
}
