import React, { useEffect, useMemo, useRef, useState } from 'react';
import { css } from '@emotion/css';
import { formattedValueToString, getValueFormat, type DataFrame, type DataQueryRequest, type GrafanaTheme2, type PanelProps, type TimeRange } from '@grafana/data';
import { getDataSourceSrv, locationService } from '@grafana/runtime';
import { isObservable, lastValueFrom } from 'rxjs';
import { formatBytes } from '../../formatBytes';
import { DATASOURCE_UID, type Filter } from '../../types';
import { useStyles2, useTheme2 } from '@grafana/ui';
import { geoEqualEarth, geoPath } from 'd3-geo';
import { countryRows, isCountryCode, numericId, type CountryRow, type MapMetric } from './countries';
import { countryFeatures } from './world';

export interface GeomapOptions {
  metric: MapMetric;
  /** Dashboard variable a click sets (without "$"). */
  variable: string;
}

const UNITS: Record<MapMetric, string> = { bytes: 'decbytes', bytes_sent: 'decbytes', bytes_received: 'decbytes', packets: 'short', flows: 'short' };

/** Mixes two #rrggbb colours; t in [0, 1]. */
function mix(a: string, b: string, t: number): string {
  const pa = parseInt(a.slice(1, 7), 16);
  const pb = parseInt(b.slice(1, 7), 16);
  const ch = (shift: number) => Math.round(((pa >> shift) & 255) * (1 - t) + ((pb >> shift) & 255) * t);
  return `rgb(${ch(16)}, ${ch(8)}, ${ch(0)})`;
}

function toHex(color: string): string {
  if (/^#[0-9a-f]{6}$/i.test(color)) {
    return color;
  }
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(color);
  return m ? `#${[m[1], m[2], m[3]].map((x) => Number(x).toString(16).padStart(2, '0')).join('')}` : '#808080';
}

interface Top {
  name: string;
  bytes: number;
}

/** Top rows (name column, bytes) of a frame. */
function topOf(frame: DataFrame | undefined, nameField: string, n: number): Top[] {
  if (!frame) {
    return [];
  }
  const names = frame.fields.find((f) => f.name === nameField)?.values ?? [];
  const bytes = frame.fields.find((f) => f.name === 'bytes')?.values ?? [];
  return names.slice(0, n).map((name: unknown, i: number) => ({ name: String(name), bytes: Number(bytes[i] ?? 0) }));
}

function TopList({ title, rows, titleClass }: { title: string; rows: Top[]; titleClass: string }) {
  return (
    <div aria-label={title}>
      <div className={titleClass}>{title}</div>
      {rows.map((t) => (
        <div key={t.name}>
          {t.name} {formatBytes(t.bytes)}
        </div>
      ))}
    </div>
  );
}

/**
 * Top IPs (both ends of the country's flows) and top applications for one country, through the
 * Capsight data source, under everything the panel's own query has: its filters (the dashboard's
 * variables, resolved by the data source with the panel's scoped variables) and the dashboard's
 * ad-hoc filters.
 */
async function countryDetail(code: string, range: TimeRange, panel?: DataQueryRequest): Promise<{ ips: Top[]; apps: Top[] }> {
  const ds = await getDataSourceSrv().get(DATASOURCE_UID);
  const own = ((panel?.targets?.[0] as { filters?: Filter[] } | undefined)?.filters ?? []).filter((f) => f.key !== 'country');
  const filters = [...own, { key: 'country', operator: '=', value: code }];
  const request = {
    targets: [
      { refId: 'ips', kind: 'endpoints', limit: 5, sort: { by: 'bytes', desc: true }, filters },
      { refId: 'apps', kind: 'protocols', topN: 5, filters },
    ],
    range,
    scopedVars: panel?.scopedVars ?? {},
    filters: panel?.filters ?? [],
    intervalMs: 60_000,
    maxDataPoints: 100,
    app: 'panel',
    requestId: `capsight-geomap-${code}`,
    timezone: 'utc',
    startTime: Date.now(),
  } as unknown as DataQueryRequest;
  const answer = ds.query(request);
  const r = isObservable(answer) ? await lastValueFrom(answer) : await answer;
  const frame = (refId: string) => r.data.find((f: DataFrame) => f.refId === refId);
  return { ips: topOf(frame('ips'), 'ip', 5), apps: topOf(frame('apps'), 'name', 5) };
}

/**
 * Countries filled by the chosen metric on a bundled world map. Clicking a country sets the
 * dashboard variable (every panel filters) and opens its details; clicking it again clears it.
 * Private and other non-country addresses are listed under the map instead of vanishing.
 */
export function GeomapPanel({ data, width, height, options, replaceVariables, timeRange }: PanelProps<GeomapOptions>) {
  const theme = useTheme2();
  const styles = useStyles2(getStyles);
  const metric = options.metric ?? 'bytes';
  const variable = options.variable || 'country';
  const rows = useMemo(() => countryRows(data.series), [data.series]);
  const [hover, setHover] = useState<{ row: CountryRow | null; name: string; x: number; y: number } | null>(null);
  const [view, setView] = useState({ k: 1, x: 0, y: 0 });
  const drag = useRef<{ x: number; y: number } | null>(null);

  const selected = replaceVariables(`$${variable}`);
  const selectedCode = selected && !selected.startsWith('$') && selected !== 'All' && selected !== '*' ? selected : null;
  const [detailTop, setDetailTop] = useState<{ code: string; ips: Top[]; apps: Top[]; error?: string } | null>(null);
  useEffect(() => {
    if (!selectedCode) {
      setDetailTop(null);
      return;
    }
    let current = true;
    countryDetail(selectedCode, timeRange, data.request)
      .then((d) => current && setDetailTop({ code: selectedCode, ...d }))
      .catch((e: Error) => current && setDetailTop({ code: selectedCode, ips: [], apps: [], error: e.message }));
    return () => {
      current = false;
    };
  }, [selectedCode, timeRange, data.request]);
  const byId = new Map<string, CountryRow>();
  for (const r of rows) {
    const id = isCountryCode(r.code) ? numericId(r.code) : undefined;
    if (id) {
      byId.set(id, r);
    }
  }
  const features = countryFeatures();
  const onMap = new Set(features.map((f) => String(f.id)));
  // Labels (private, unknown, ...) and countries too small for the 1:110m map are listed under it.
  const others = rows.filter((r) => !isCountryCode(r.code) || !onMap.has(numericId(r.code) ?? ''));
  const max = Math.max(0, ...rows.filter((r) => isCountryCode(r.code)).map((r) => r.values[metric]));
  const fmt = getValueFormat(UNITS[metric]);
  const show = (v: number) => formattedValueToString(fmt(v));
  const low = toHex(theme.colors.background.secondary);
  const high = toHex(theme.visualization.getColorByName('blue'));
  const fill = (r: CountryRow | undefined) => (r && max > 0 && r.values[metric] > 0 ? mix(low, high, 0.15 + 0.85 * (Math.log1p(r.values[metric]) / Math.log1p(max))) : low);

  const mapHeight = Math.max(60, height - 28 - (others.length > 0 ? 24 : 0));
  const projection = geoEqualEarth().fitSize([width, mapHeight], { type: 'FeatureCollection', features } as never);
  const path = geoPath(projection);

  const toggle = (r: CountryRow | undefined) => {
    if (!r) {
      return;
    }
    locationService.partial({ [`var-${variable}`]: selectedCode === r.code ? null : r.code }, true);
  };

  if (rows.length === 0) {
    return <div className={styles.empty}>No data: run a Capsight "countries" query in this panel.</div>;
  }
  const detail = selectedCode ? rows.find((r) => r.code === selectedCode) : undefined;
  return (
    <div className={styles.wrap} style={{ width, height }}>
      <svg
        width={width}
        height={mapHeight}
        role="img"
        aria-label="Country map"
        onWheel={(e) => {
          const k = Math.min(8, Math.max(1, view.k * (e.deltaY < 0 ? 1.25 : 0.8)));
          setView({ ...view, k });
        }}
        onMouseDown={(e) => (drag.current = { x: e.clientX - view.x, y: e.clientY - view.y })}
        onMouseMove={(e) => drag.current && setView({ ...view, x: e.clientX - drag.current.x, y: e.clientY - drag.current.y })}
        onMouseUp={() => (drag.current = null)}
        onMouseLeave={() => {
          drag.current = null;
          setHover(null);
        }}
      >
        <g transform={`translate(${view.x},${view.y}) scale(${view.k})`}>
          {features.map((f, i) => {
            const r = byId.get(String(f.id));
            const isSelected = !!r && r.code === selectedCode;
            return (
              <path
                key={String(f.id ?? i)}
                d={path(f) ?? undefined}
                data-country={r?.code ?? ''}
                fill={fill(r)}
                stroke={isSelected ? theme.colors.text.primary : theme.colors.border.weak}
                strokeWidth={(isSelected ? 1.5 : 0.5) / view.k}
                className={r ? styles.clickable : undefined}
                onMouseMove={(e) => setHover({ row: r ?? null, name: f.properties?.name ?? '', x: e.nativeEvent.offsetX || 0, y: e.nativeEvent.offsetY || 0 })}
                onClick={() => toggle(r)}
              />
            );
          })}
        </g>
      </svg>
      {hover && (
        <div className={styles.tooltip} style={{ left: Math.min(hover.x + 12, width - 180), top: hover.y + 12 }} role="tooltip">
          <strong>{hover.row?.name ?? hover.name}</strong>
          {hover.row ? (
            <div>
              {show(hover.row.values.bytes)} ({show(hover.row.values.bytes_sent)} sent, {show(hover.row.values.bytes_received)} received), {hover.row.values.flows} flows
            </div>
          ) : (
            <div>no traffic</div>
          )}
        </div>
      )}
      <div className={styles.legend} aria-label="Legend">
        <span>0</span>
        <span className={styles.ramp} style={{ background: `linear-gradient(to right, ${mix(low, high, 0.15)}, ${high})` }} />
        <span>{show(max)}</span>
        <span className={styles.metric}>{metric.replace('_', ' ')}</span>
      </div>
      {others.length > 0 && (
        <div className={styles.others} aria-label="Not on the map">
          {others.map((r) => (
            <span key={r.code}>
              {r.name}: {show(r.values[metric])}
            </span>
          ))}
        </div>
      )}
      {detail && (
        <div className={styles.detail} aria-label="Country details">
          <strong>{detail.name}</strong>
          <div>
            sent {show(detail.values.bytes_sent)} ({detail.values.bytes > 0 ? Math.round((100 * detail.values.bytes_sent) / detail.values.bytes) : 0}%), received{' '}
            {show(detail.values.bytes_received)}
          </div>
          <div>
            {detail.values.flows} flows, {detail.values.packets} packets
          </div>
          {detailTop?.code === detail.code && (
            <div className={styles.tops}>
              <TopList title="Top IPs" rows={detailTop.ips} titleClass={styles.metric} />
              <TopList title="Top applications" rows={detailTop.apps} titleClass={styles.metric} />
              {detailTop.error && <div>{detailTop.error}</div>}
            </div>
          )}
        </div>
      )}
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  wrap: css({ position: 'relative', overflow: 'hidden', color: theme.colors.text.primary, fontFamily: theme.typography.fontFamily }),
  empty: css({ padding: theme.spacing(2), color: theme.colors.text.secondary }),
  clickable: css({ cursor: 'pointer' }),
  tooltip: css({
    position: 'absolute',
    pointerEvents: 'none',
    background: theme.colors.background.primary,
    border: `1px solid ${theme.colors.border.medium}`,
    padding: theme.spacing(0.5, 1),
    fontSize: theme.typography.bodySmall.fontSize,
    maxWidth: 260,
  }),
  legend: css({ display: 'flex', alignItems: 'center', gap: theme.spacing(1), fontSize: theme.typography.bodySmall.fontSize, height: 28 }),
  ramp: css({ display: 'inline-block', width: 120, height: 10 }),
  metric: css({ color: theme.colors.text.secondary }),
  others: css({ display: 'flex', flexWrap: 'wrap', gap: theme.spacing(2), fontSize: theme.typography.bodySmall.fontSize, height: 24 }),
  tops: css({ display: 'flex', gap: theme.spacing(2), marginTop: theme.spacing(1) }),
  detail: css({
    position: 'absolute',
    right: theme.spacing(1),
    top: theme.spacing(1),
    background: theme.colors.background.primary,
    border: `1px solid ${theme.colors.border.medium}`,
    padding: theme.spacing(1),
    fontSize: theme.typography.bodySmall.fontSize,
  }),
});
