import React from 'react';
import type { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, Input, Select, Stack } from '@grafana/ui';
import type { DataSource } from './datasource';
import type { CapsightOptions, CapsightQuery } from './types';
import type { Metric, QueryKind } from '../types';

type Props = QueryEditorProps<DataSource, CapsightQuery, CapsightOptions>;

const KINDS: Array<SelectableValue<QueryKind>> = [
  { label: 'Time series', value: 'timeseries' },
  { label: 'Flow table', value: 'flows' },
  { label: 'Endpoints (per IP)', value: 'endpoints' },
  { label: 'Protocols', value: 'protocols' },
  { label: 'Countries', value: 'countries' },
  { label: 'Conversations', value: 'conversations' },
  { label: 'Duration histogram', value: 'histogram' },
  { label: 'Captures', value: 'captures' },
];

const METRICS: Array<SelectableValue<Metric>> = [
  { label: 'Bytes', value: 'bytes' },
  { label: 'Bytes sent', value: 'bytes_sent' },
  { label: 'Bytes received', value: 'bytes_received' },
  { label: 'Packets', value: 'packets' },
  { label: 'Flows started', value: 'flows' },
];

/** Visual editor for the sidecar's query model (the filter builder and capture picker come next). */
export function QueryEditor({ query, onChange, onRunQuery }: Props) {
  const set = (patch: Partial<CapsightQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };
  return (
    <Stack direction="row" gap={1} wrap="wrap">
      <InlineField label="Kind" labelWidth={10}>
        <Select inputId="capsight-kind" width={24} options={KINDS} value={query.kind} onChange={(v) => set({ kind: v.value ?? 'timeseries' })} />
      </InlineField>
      {query.kind === 'timeseries' && (
        <InlineField label="Metric" labelWidth={10}>
          <Select inputId="capsight-metric" width={20} options={METRICS} value={query.metric ?? 'bytes'} onChange={(v) => set({ metric: v.value })} />
        </InlineField>
      )}
      {(query.kind === 'timeseries' || query.kind === 'protocols') && (
        <InlineField label="Group by" labelWidth={10} tooltip="A dimension key: app, proto, src_country, dst, dport, ...">
          <Input
            id="capsight-groupby"
            width={16}
            value={query.groupBy?.[0] ?? ''}
            onChange={(e) => onChange({ ...query, groupBy: e.currentTarget.value ? [e.currentTarget.value] : [] })}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
      <InlineField label="Top N" labelWidth={10}>
        <Input id="capsight-topn" type="number" width={8} value={query.topN ?? 10} onChange={(e) => onChange({ ...query, topN: Number(e.currentTarget.value) || 10 })} onBlur={onRunQuery} />
      </InlineField>
    </Stack>
  );
}
