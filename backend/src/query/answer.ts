import type { FlowStore, ResultColumns } from '../store/flow-store';
import { DIMENSIONS } from './dimensions';
import { emptyFrame, field, frame, type DataFrameJSON, type FieldConfig, type FrameField } from './frames';
import { answerAnomaly } from './anomaly';
import { protocolName, serviceName } from '../model/names';
import { countryName } from './country-names';
import { DISPLAY_NAMES, FLOW_LINKS, flowTableColumns, pageNotice } from './flow-table';
import { outsideRangeNotice } from './range-notice';
import { MAX_FILLED_STEPS } from './cost';
import { DURATION_BINS, isAnomalyKind, type CheckedQuery, type Metric } from './model';

/** Dashboard uids the data links point at (provisioned by the app plugin). */
export const DASHBOARDS = { overview: 'capsight-overview', endpoints: 'capsight-endpoints', geography: 'capsight-geography', flows: 'capsight-flows' };

const ipLinks: FieldConfig['links'] = [{ title: 'Endpoint ${__value.raw}', url: `/d/${DASHBOARDS.endpoints}?var-ip=\${__value.raw}&\${__url_time_range}` }];
const countryLinks: FieldConfig['links'] = [{ title: 'Geography: ${__value.raw}', url: `/d/${DASHBOARDS.geography}?var-country=\${__value.raw}&\${__url_time_range}` }];

/**
 * Into the flow table filtered to one value of a key (Grafana's ad-hoc filter in the URL, on top of
 * the current variables and time range); `value` is a link variable (${__value.raw}, ${__field.labels.x}).
 */
function flowsWith(key: string, value: string): NonNullable<FieldConfig['links']> {
  return [{ title: `Flows with ${key} = ${value}`, url: `/d/${DASHBOARDS.flows}?\${__all_variables}&var-filters=${key}%7C%3D%7C${value}&\${__url_time_range}` }];
}

const UNITS: Record<Metric, string> = {
  bytes: 'decbytes',
  bytes_sent: 'decbytes',
  bytes_received: 'decbytes',
  packets: 'short',
  packets_sent: 'short',
  packets_received: 'short',
  flows: 'short',
  bits_per_sec: 'bps',
  packets_per_sec: 'pps',
  ip_bytes_sent: 'decbytes',
  ip_bytes_received: 'decbytes',
  ip_packets_sent: 'short',
  ip_packets_received: 'short',
  retransmissions: 'short',
  retrans_rate: 'percent',
  handshake_rtt: 'ms',
  resets: 'short',
};

const TITLES: Record<Metric, string> = {
  bytes: 'Bytes',
  bytes_sent: 'Bytes sent',
  bytes_received: 'Bytes received',
  packets: 'Packets',
  packets_sent: 'Packets sent',
  packets_received: 'Packets received',
  flows: 'Flows started',
  bits_per_sec: 'Bits/s',
  packets_per_sec: 'Packets/s',
  ip_bytes_sent: 'Bytes sent by the addresses',
  ip_bytes_received: 'Bytes received by the addresses',
  ip_packets_sent: 'Packets sent by the addresses',
  ip_packets_received: 'Packets received by the addresses',
  retransmissions: 'Retransmitted segments',
  retrans_rate: 'Retransmission rate',
  handshake_rtt: 'Handshake RTT (median)',
  resets: 'Flows reset',
};

/** Rates: the step's volume per second (bits for bits_per_sec), so the curve keeps its height at any zoom. */
function rateFactor(metric: Metric, stepMs: number): number {
  if (metric === 'bits_per_sec') return 8000 / stepMs;
  if (metric === 'packets_per_sec') return 1000 / stepMs;
  return 1;
}

/** Known column kinds: how each result column becomes a frame field. */
function columnField(name: string): FrameField {
  // A row's span in whole ms, for its links; not a column anyone reads.
  if (name === 'from_ms' || name === 'to_ms') return field(name, 'number', { unit: 'none', decimals: 0, custom: { hidden: true } });
  // Names in words (before the patterns below, which would take them for numbers).
  if (name === 'protocol' || name === 'service' || name === 'src_flags' || name === 'dst_flags') return field(name, 'string');
  if (name === 'first' || name === 'last' || name === 'time') return field(name, 'time', { displayName: name === 'first' ? 'First packet' : name === 'last' ? 'Last packet' : undefined });
  if (/bytes/.test(name) || name === 'size') return field(name, 'number', { unit: 'decbytes' });
  if (name === 'duration_ms') return field(name, 'number', { unit: 'ms', displayName: 'Duration' });
  // TCP health: times in µs, counters, who reset.
  if (name.endsWith('_us')) return field(name, 'number', { unit: 'µs' });
  if (name === 'reset_by') return field(name, 'string');
  if (name === 'reset_after_data') return field(name, 'boolean');
  if (/retrans|out_of_order|lost_segments|ack_unseen|dup_acks|zero_windows|window_full|keep_alives/.test(name)) return field(name, 'number', { unit: 'short' });
  if (name === 'src' || name === 'dst' || name === 'ip' || name === 'peer') return field(name, 'string', { links: ipLinks });
  if (/country$/.test(name)) return field(name, 'string', { links: countryLinks });
  if (/local$/.test(name)) return field(name, 'boolean');
  if (/(pkts|packets|flows|peers|asn|port|proto|flow_id|ip_version|vlan|flags|fragments|total)/.test(name)) return field(name, 'number', { unit: /asn|port|proto|flow_id|ip_version|vlan|flags/.test(name) ? 'none' : 'short' });
  return field(name, 'string');
}

function table(q: CheckedQuery, cols: ResultColumns, type: 'table' | 'numeric-long', custom?: Record<string, unknown>): DataFrameJSON {
  const names = Object.keys(cols);
  return frame(q.refId, { type, preferredVisualisationType: 'table', ...(custom ? { custom } : {}) }, names.map(columnField), names.map((n) => cols[n]));
}

/** Keeps the topN largest rows (by bytes) and sums the rest into one "(other)" row. */
function foldOther(cols: ResultColumns, topN: number): ResultColumns {
  const n = cols.name.length;
  if (n <= topN) return cols;
  const out: ResultColumns = {};
  for (const [k, v] of Object.entries(cols)) {
    out[k] = v.slice(0, topN);
    if (k === 'name') out[k].push('(other)');
    else if (v.some((x) => typeof x === 'string')) out[k].push(''); // a label beside the name (organisation)
    else out[k].push(v.slice(topN).reduce<number>((a, b) => a + Number(b ?? 0), 0));
  }
  return out;
}

function timeseries(q: CheckedQuery, cols: ResultColumns): DataFrameJSON[] {
  const times = cols.time as number[];
  const values = cols.value as number[];
  if (times.length === 0) return [emptyFrame(q.refId, 'timeseries-multi')];
  const step = q.intervalMs;
  const series = new Map<string, Map<number, number | null>>();
  for (let i = 0; i < times.length; i++) {
    const s = cols.series ? String(cols.series[i]) : '';
    let m = series.get(s);
    if (!m) series.set(s, (m = new Map()));
    m.set(times[i], values[i]);
  }
  // Steps without traffic are zeros (gaps for ratios and medians): fill the asked range when it is bounded, else the data's span.
  let start = Math.floor(q.from / step) * step;
  let end = q.to;
  if ((end - start) / step > MAX_FILLED_STEPS) {
    start = Infinity;
    end = -Infinity;
    for (const t of times) {
      start = Math.min(start, t);
      end = Math.max(end, t + step);
    }
  }
  const grid: number[] = [];
  for (let t = start; t < end; t += step) grid.push(t);
  const key = q.groupBy[0];
  const unit = UNITS[q.metric];
  const factor = rateFactor(q.metric, step);
  // A median RTT or a rate of a step without flows is unknown (a gap), not 0.
  const empty = q.metric === 'handshake_rtt' || q.metric === 'retrans_rate' ? null : 0;
  return [...series.entries()].map(([name, points]) => {
    const labels = key ? { [key]: name } : undefined;
    const display = key ? (key.endsWith('country') && name !== '(other)' ? `${name} ${countryName(name)}` : name) : TITLES[q.metric];
    return frame(
      q.refId,
      { type: 'timeseries-multi', custom: { intervalMs: step } },
      [field('time', 'time', { custom: { intervalMs: step } }), field(q.metric, 'number', { unit, displayNameFromDS: display, ...(key ? { links: flowsWith(key, `\${__field.labels.${key}}`) } : {}) }, labels)],
      [grid, grid.map((t) => {
        const v = points.get(t);
        return v === undefined ? empty : v === null ? null : v * factor;
      })],
    );
  });
}

/** What a variable's picker shows for each value: protocol and service names, country names. */
function valueTexts(key: string, values: string[], texts: string[]): string[] {
  if (key === 'proto') return values.map((v) => protocolName(Number(v)) ?? v);
  if (/port$/.test(key)) return values.map((v) => {
    const name = serviceName(6, Number(v)) ?? serviceName(17, Number(v));
    return name ? `${v} (${name})` : v;
  });
  if (/country$/.test(key)) return values.map((v) => `${v} ${countryName(v)}`);
  return texts;
}

/** Grouped by a port: its service name beside it ("443" -> "https"; TCP's name, else UDP's). */
function withServiceNames(cols: ResultColumns, key: string): ResultColumns {
  if (!/port$/.test(key)) return cols;
  const service = cols.name.map((p) => (/^\d+$/.test(String(p)) ? (serviceName(6, Number(p)) ?? serviceName(17, Number(p)) ?? '') : ''));
  return { name: cols.name, service, ...Object.fromEntries(Object.entries(cols).filter(([k]) => k !== 'name')) };
}

function withCountryNames(cols: ResultColumns): ResultColumns {
  return { name: cols.name, country_name: cols.name.map((c) => countryName(String(c))), ...Object.fromEntries(Object.entries(cols).filter(([k]) => k !== 'name')) };
}

const TABLE_KINDS = new Set(['flows', 'endpoints', 'peers', 'conversations', 'captures', 'values', 'keys']);

/**
 * Fields a flow row's links read (its conversation at its time, its packets): kept, hidden, when a
 * column choice leaves them out, or the links of a table showing fewer columns would point nowhere.
 */
const FLOW_LINK_FIELDS = ['from_ms', 'to_ms', 'src', 'sport', 'capture_id', 'flow_id'];

/** A table's column choice: the listed fields that exist, in the listed order (none of them: every field). */
function chooseColumns(frames: DataFrameJSON[], q: CheckedQuery): DataFrameJSON[] {
  if (!q.columns?.length || !TABLE_KINDS.has(q.kind)) return frames;
  const listed = q.columns as string[];
  const carried = q.kind === 'flows' ? FLOW_LINK_FIELDS.filter((c) => !listed.includes(c)) : [];
  return frames.map((f) => {
    const at = (names: string[]): number[] => names.map((c) => f.schema.fields.findIndex((x) => x.name === c)).filter((i) => i >= 0);
    const idx = at(listed);
    if (idx.length === 0) return f;
    const hidden = at(carried);
    const fields = [...idx.map((i) => f.schema.fields[i]), ...hidden.map((i) => ({ ...f.schema.fields[i], config: { ...f.schema.fields[i].config, custom: { ...f.schema.fields[i].config?.custom, hidden: true } } }))];
    return { schema: { ...f.schema, fields }, data: { values: [...idx, ...hidden].map((i) => f.data.values[i]) } };
  });
}

/**
 * Answers one checked query with frames. Throws QueryError (-> HTTP 400) for a query that cannot
 * run; `signal` interrupts its statements in the store.
 */
export async function answer(store: FlowStore, q: CheckedQuery, signal?: AbortSignal): Promise<{ refId: string; frames: DataFrameJSON[] }> {
  const a = await answerChecked(store, q, signal);
  const frames = chooseColumns(a.frames, q);
  const notice = await outsideRangeNotice(store, q);
  if (notice && frames[0]) frames[0].schema.meta.notices = [...(frames[0].schema.meta.notices ?? []), notice];
  return { refId: a.refId, frames };
}

async function answerChecked(store: FlowStore, q: CheckedQuery, signal?: AbortSignal): Promise<{ refId: string; frames: DataFrameJSON[] }> {
  if (q.kind === 'keys') {
    const cols = { key: DIMENSIONS.map((d) => d.key), type: DIMENSIONS.map((d) => d.type), description: DIMENSIONS.map((d) => d.description) };
    return { refId: q.refId, frames: [table(q, cols, 'table')] };
  }
  if (isAnomalyKind(q.kind)) return { refId: q.refId, frames: await answerAnomaly(store, q, signal) };
  if (q.kind === 'peers' && !q.filters.some((f) => f.key === 'ip')) {
    const f = emptyFrame(q.refId, 'table');
    f.schema.meta.notices = [{ severity: 'info', text: 'select an address (the ip variable, or an "ip" filter) to list its peers' }];
    return { refId: q.refId, frames: [f] };
  }
  const cols = await store.run(q, signal);
  switch (q.kind) {
    case 'timeseries':
      return { refId: q.refId, frames: timeseries(q, cols) };
    case 'protocols': {
      const key = q.groupBy[0] ?? 'app';
      const folded = withServiceNames(foldOther(cols, q.topN), key);
      // Protocols by name (a name filters as well as its number: the flow-table link keeps working).
      if (key === 'proto') folded.name = folded.name.map((n) => (/^\d+$/.test(String(n)) ? protocolName(Number(n)) : n));
      const f = table(q, folded, 'numeric-long', { groupBy: key });
      f.schema.fields[0].config = { ...f.schema.fields[0].config, displayName: key, links: flowsWith(key, '${__value.raw}') };
      return { refId: q.refId, frames: [f] };
    }
    case 'countries': {
      const f = table(q, withCountryNames(foldOther(cols, q.topN)), 'numeric-long', { side: q.side ?? 'both' });
      f.schema.fields[0].config = { displayName: 'Country', links: countryLinks };
      return { refId: q.refId, frames: [f] };
    }
    case 'histogram': {
      const flows = DURATION_BINS.map(() => 0);
      const bytes = DURATION_BINS.map(() => 0);
      (cols.bin as number[]).forEach((b, i) => {
        flows[b] = Number(cols.flows[i]);
        bytes[b] = Number(cols.bytes[i]);
      });
      return { refId: q.refId, frames: [table(q, { duration: DURATION_BINS.map(([n]) => n), flows, bytes }, 'numeric-long')] };
    }
    case 'flows': {
      const shown = (cols.flow_id ?? []).length;
      const total = shown > 0 ? Number(cols.total?.[0] ?? 0) : (await store.run({ ...q, kind: 'flows', limit: 1, offset: 0 }, signal)).total?.[0] ?? 0;
      delete cols.total;
      const f = table(q, flowTableColumns(cols), 'table', { limit: q.limit, offset: q.offset, total: Number(total) });
      for (const fl of f.schema.fields) {
        if (DISPLAY_NAMES[fl.name]) fl.config = { ...fl.config, displayName: DISPLAY_NAMES[fl.name] };
        if (fl.name === 'first') fl.config = { ...fl.config, links: FLOW_LINKS };
      }
      const notice = pageNotice(shown, q.offset, Number(total), q.sort?.by ?? 'first');
      if (notice) f.schema.meta.notices = [notice];
      return { refId: q.refId, frames: [f] };
    }
    case 'peers':
    case 'endpoints':
    case 'conversations':
      return { refId: q.refId, frames: [table(q, cols, 'table', { limit: q.limit, offset: q.offset })] };
    case 'captures': {
      const f = table(q, cols, 'table');
      const name = f.schema.fields.find((x) => x.name === 'name');
      if (name) name.config = { ...name.config, links: [{ title: 'This capture: its traffic over its time span', url: `/d/${DASHBOARDS.overview}?var-capture=\${__data.fields.id}&from=\${__data.fields.from_ms}&to=\${__data.fields.to_ms}` }] };
      return { refId: q.refId, frames: [f] };
    }
    case 'values':
      return { refId: q.refId, frames: [table(q, { ...cols, text: valueTexts(q.key as string, cols.value as string[], cols.text as string[]) }, 'table')] };
    default:
      return { refId: q.refId, frames: [table(q, cols, 'table')] };
  }
}
