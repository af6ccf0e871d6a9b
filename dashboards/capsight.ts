/**
 * The bundled dashboards, generated from TypeScript with @grafana/grafana-foundation-sdk:
 * `npm run dashboards` writes src/dashboards/*.json (bundled in the app and provisioned by Docker).
 * Every panel reads the provisioned data source (uid "capsight") and every query is one the
 * sidecar accepts (dashboards.test.ts checks both).
 */
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as piechart from '@grafana/grafana-foundation-sdk/piechart';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { DASHBOARDS } from '../backend/src/query/answer';
import { DNS_ERROR_RCODES, FAILED_STATES } from '../backend/src/query/anomaly-rules';
import { READABLE } from '../backend/src/query/flow-table';
import { CURRENT_QUERY_VERSION } from '../src/datasource/query/migrate';
import { OVERVIEW_UID } from '../src/links';

export const DATASOURCE = { type: 'capsight-flows-datasource', uid: 'capsight' };

/** Uids: the ones the sidecar's data links and the plugin's Overview links point at come from there. */
export const UIDS = {
  overview: OVERVIEW_UID,
  flows: DASHBOARDS.flows,
  endpoints: DASHBOARDS.endpoints,
  geography: DASHBOARDS.geography,
  protocols: 'capsight-protocols',
  anomalies: 'capsight-anomalies',
  tcpHealth: 'capsight-tcp-health',
};

/** Filters every panel applies: the dashboard's variables ("*" = All drops the filter). */
const VARIABLE_FILTERS = [
  { key: 'capture', operator: 'in', value: ['$capture'] },
  { key: 'app', operator: 'in', value: ['$app'] },
  { key: 'proto', operator: 'in', value: ['$proto'] },
  { key: 'ip', operator: 'in', value: ['$ip'] },
  { key: 'country', operator: 'in', value: ['$country'] },
  { key: 'port', operator: 'in', value: ['$port'] },
  { key: 'state', operator: 'in', value: ['$state'] },
  { key: 'asn', operator: 'in', value: ['$asn'] },
  { key: 'server_name', operator: 'in', value: ['$server_name'] },
];

/** Connection states that count as failed (backend/src/query/anomaly-rules.ts), and DNS errors. */
const FAILED = { key: 'state', operator: 'in', value: [...FAILED_STATES] };
const DNS_ERRORS = { key: 'dns_rcode', operator: 'in', value: [...DNS_ERROR_RCODES] };
/** Only rows that have the key (a top list of names without "(none)"). */
const NAMED = (key: string) => ({ key, operator: '=~', value: '.+' });

/** A Capsight query as a foundation-SDK target, in the current saved-query shape (src/datasource/query/migrate.ts). */
class CapsightQuery implements cog.Builder<cog.Dataquery> {
  constructor(private readonly q: Record<string, unknown>) {}

  build(): cog.Dataquery {
    return { refId: 'A', datasource: DATASOURCE, queryVersion: CURRENT_QUERY_VERSION, filters: VARIABLE_FILTERS, ...this.q } as unknown as cog.Dataquery;
  }
}

const query = (q: Record<string, unknown>) => new CapsightQuery(q);

function variables(d: dashboard.DashboardBuilder): dashboard.DashboardBuilder {
  // Values seen in the range and the selected captures; typing in the picker searches all of them ($__searchFilter).
  const v = (name: string, label: string, key: string) =>
    new dashboard.QueryVariableBuilder(name).label(label).datasource(DATASOURCE).query(`values ${key} $__searchFilter`).multi(true).includeAll(true).allValue('*').refresh(dashboard.VariableRefresh.OnTimeRangeChanged);
  return d
    .withVariable(v('capture', 'Capture', 'capture'))
    .withVariable(v('app', 'Application', 'app'))
    .withVariable(v('proto', 'Protocol', 'proto'))
    .withVariable(v('ip', 'IP', 'ip'))
    .withVariable(v('country', 'Country', 'country'))
    .withVariable(v('port', 'Port', 'port'))
    .withVariable(v('state', 'State', 'state'))
    .withVariable(v('asn', 'AS', 'asn'))
    .withVariable(v('server_name', 'Server name', 'server_name'))
    .withVariable(new dashboard.AdHocVariableBuilder('filters').label('Filters').datasource(DATASOURCE));
}

function base(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  let d = new dashboard.DashboardBuilder(title).uid(uid).description(description).tags(['capsight']).time({ from: 'now-6h', to: 'now' }).refresh('').editable();
  d = variables(d);
  // Capture start and end as annotation regions (the data source turns "captures" rows into events).
  d = d.annotation(
    new dashboard.AnnotationQueryBuilder()
      .name('Captures')
      .datasource(DATASOURCE)
      .enable(true)
      .iconColor('purple')
      .target(new CapsightQuery({ refId: 'Anno', kind: 'captures', filters: [] })),
  );
  for (const [key, other] of Object.entries(UIDS)) {
    if (other !== uid) {
      d = d.link(new dashboard.DashboardLinkBuilder(key[0].toUpperCase() + key.slice(1)).type(dashboard.DashboardLinkType.Link).url(`/d/${other}`).keepTime(true).includeVars(true));
    }
  }
  // The app's Captures page: every capture with its span (a name opens the Overview on it), imports.
  d = d.link(new dashboard.DashboardLinkBuilder('Captures').type(dashboard.DashboardLinkType.Link).url('/a/capsight-app/captures').icon('cloud'));
  return d;
}

const series = (title: string, q: Record<string, unknown>, unit = 'decbytes') =>
  new timeseries.PanelBuilder().title(title).datasource(DATASOURCE).withTarget(query({ kind: 'timeseries', ...q })).unit(unit).height(9).span(24);
const tablePanel = (title: string, q: Record<string, unknown>, span = 24, height = 10) => new table.PanelBuilder().title(title).datasource(DATASOURCE).withTarget(query(q)).span(span).height(height);
const pie = (title: string, q: Record<string, unknown>, span = 8) =>
  new piechart.PanelBuilder().title(title).datasource(DATASOURCE).withTarget(query(q)).reduceOptions(new common.ReduceDataOptionsBuilder().values(true).calcs([]).fields('/^bytes$/')).unit('decbytes').span(span).height(9);
const geomap = (title: string, side: string, span = 16) =>
  new dashboard.PanelBuilder().type('capsight-geomap-panel').title(title).datasource(DATASOURCE).withTarget(query({ kind: 'countries', side, topN: 300 })).options({ metric: 'bytes', variable: 'country' }).span(span).height(12);
const histogram = (span = 12) =>
  new barchart.PanelBuilder().title('Flow duration (CapAnalysis bins)').datasource(DATASOURCE).withTarget(query({ kind: 'histogram' })).xField('duration').span(span).height(9);

/** The flow table's server-side order: Grafana's column click sorts only the rows on the page. */
function sortVariable(): dashboard.CustomVariableBuilder {
  const columns = ['first', 'last', 'bytes', 'duration_ms', 'src_bytes', 'dst_bytes', 'src_pkts', 'dst_pkts', 'dport', 'src', 'dst'];
  return new dashboard.CustomVariableBuilder('sort')
    .label('Sort flows by')
    .values(columns.join(','))
    .options(columns.map((c, i) => ({ text: c, value: c, selected: i === 0 })))
    .current({ text: 'first', value: 'first' });
}

const top = (title: string, groupBy: string, span = 8, extra: Record<string, unknown> = {}) => tablePanel(title, { kind: 'protocols', groupBy: [groupBy], topN: 15, ...extra }, span, 9);

export function buildDashboards(): Record<string, unknown> {
  const overview = base(UIDS.overview, 'Capsight / Overview', 'Traffic of the selected captures: rates, applications, services, countries, top talkers')
    .withPanel(series('Throughput by application', { metric: 'bits_per_sec', groupBy: ['app'], topN: 8 }, 'bps').span(12))
    .withPanel(series('Packet rate by application', { metric: 'packets_per_sec', groupBy: ['app'], topN: 8 }, 'pps').span(12))
    .withPanel(series('Traffic by application (volume per step)', { metric: 'bytes', groupBy: ['app'], topN: 8 }).height(8))
    .withPanel(geomap('Remote countries', 'remote'))
    .withPanel(pie('Applications', { kind: 'protocols', topN: 8 }))
    .withPanel(top('Top services (server port)', 'dport'))
    .withPanel(top('Top server names (TLS SNI, HTTP Host, DNS)', 'server_name', 8, { filters: [...VARIABLE_FILTERS, NAMED('server_name')] }))
    .withPanel(top('Top remote organisations (AS)', 'dst_as_org', 8, { filters: [...VARIABLE_FILTERS, NAMED('dst_as_org')] }))
    .withPanel(tablePanel('Top talkers', { kind: 'endpoints', limit: 20, sort: { by: 'bytes', desc: true } }, 12))
    .withPanel(tablePanel('Top conversations', { kind: 'conversations', limit: 20 }, 12))
    .withPanel(tablePanel('Captures (a name opens its time span)', { kind: 'captures', filters: [] }, 24, 6));
  const flows = base(UIDS.flows, 'Capsight / Flows', 'Every flow, with filters; connection failures and DNS errors; CapAnalysis\'s flow table')
    .withVariable(sortVariable())
    .withPanel(series('Flows started by application', { metric: 'flows', groupBy: ['app'], topN: 8 }, 'short').height(8))
    .withPanel(series('Failed connections by state (S0, REJ, resets)', { metric: 'flows', groupBy: ['state'], filters: [...VARIABLE_FILTERS, FAILED] }, 'short').span(12).height(8))
    .withPanel(series('DNS errors (NXDOMAIN, SERVFAIL)', { metric: 'flows', groupBy: ['dns_rcode'], filters: [...VARIABLE_FILTERS, DNS_ERRORS] }, 'short').span(12).height(8))
    .withPanel(top('Failed connections by server', 'dst', 12, { sort: { by: 'flows' }, filters: [...VARIABLE_FILTERS, FAILED] }))
    .withPanel(top('DNS errors by name', 'server_name', 12, { sort: { by: 'flows' }, filters: [...VARIABLE_FILTERS, DNS_ERRORS] }))
    .withPanel(tablePanel('Flows (sorted by the "Sort flows by" variable, across all matching flows)', { kind: 'flows', limit: 1000, sort: { by: '$sort', desc: true }, columns: [...READABLE] }, 24, 16))
    .withRow(new dashboard.RowBuilder('All fields of the flows').collapsed(true).withPanel(tablePanel('Flows, every field', { kind: 'flows', limit: 1000, sort: { by: '$sort', desc: true } }, 24, 16)));
  const endpoints = base(UIDS.endpoints, 'Capsight / Endpoints', 'One address (pick it with the IP variable): its totals, sent and received over time, peers, services, countries; without one, every address')
    .withPanel(tablePanel('The selected addresses (every address when none is selected)', { kind: 'endpoints', limit: 200, sort: { by: 'bytes', desc: true } }, 24, 7))
    .withPanel(series('Sent by the selected IPs (as client or server)', { metric: 'ip_bytes_sent', groupBy: ['app'], topN: 8 }).span(12).height(8))
    .withPanel(series('Received by the selected IPs (as client or server)', { metric: 'ip_bytes_received', groupBy: ['app'], topN: 8 }).span(12).height(8))
    .withPanel(tablePanel('Peers of the selected IPs', { kind: 'peers', limit: 200, sort: { by: 'bytes', desc: true } }, 24, 10))
    .withPanel(top('Services (server ports)', 'dport', 8))
    .withPanel(top('Server names', 'server_name', 8, { filters: [...VARIABLE_FILTERS, NAMED('server_name')] }))
    .withPanel(tablePanel('Countries of the remote ends', { kind: 'countries', side: 'remote', topN: 15 }, 8, 9))
    .withPanel(tablePanel('Conversations', { kind: 'conversations', limit: 200 }, 12))
    .withPanel(histogram());
  const geography = base(UIDS.geography, 'Capsight / Geography', 'Countries of both ends; click a country to filter')
    .withPanel(geomap('Countries (both ends)', 'both', 24))
    .withPanel(tablePanel('Countries', { kind: 'countries', side: 'both', topN: 300 }, 12))
    .withPanel(new timeseries.PanelBuilder().title('Traffic by responder country').datasource(DATASOURCE).withTarget(query({ kind: 'timeseries', metric: 'bytes', groupBy: ['dst_country'], topN: 10 })).unit('decbytes').span(12).height(10))
    .withPanel(top('Responder ASNs', 'dst_asn', 12))
    .withPanel(top('Responder organisations', 'dst_as_org', 12, { filters: [...VARIABLE_FILTERS, NAMED('dst_as_org')] }));
  const protocols = base(UIDS.protocols, 'Capsight / Protocols', 'Protocol shares by L4 protocol, application and service')
    .withPanel(pie('Applications', { kind: 'protocols', topN: 10 }, 12))
    .withPanel(pie('L4 protocols', { kind: 'protocols', groupBy: ['proto'], topN: 10 }, 12))
    .withPanel(series('Packet rate by application', { metric: 'packets_per_sec', groupBy: ['app'], topN: 10 }, 'pps').span(12))
    .withPanel(series('Throughput by L4 protocol', { metric: 'bits_per_sec', groupBy: ['proto'], topN: 10 }, 'bps').span(12))
    .withPanel(top('Services (server port)', 'dport', 12))
    .withPanel(top('How applications were recognised (payload or port)', 'app_source', 12))
    .withPanel(histogram(24));
  // The anomaly detectors the provisioned alert rules use, over the dashboard's range: the last
  // 5 minutes of traffic (windowEnd "data": of the newest traffic in the range) against the rest.
  const anomaly = (q: Record<string, unknown>) => ({ windowMs: 300_000, windowEnd: 'data', ...q });
  const anomalies = base(UIDS.anomalies, 'Capsight / Anomalies', 'What the alert rules watch: volume changes, new countries and ports, scan suspects, failure surges (the last 5 minutes of traffic in the range against the rest of it)')
    .withPanel(series('Traffic by application', { metric: 'bytes', groupBy: ['app'], topN: 8 }).height(8))
    .withPanel(tablePanel('Volume change by application (robust score)', anomaly({ kind: 'volume_change', groupBy: ['app'], topN: 20, measure: 'score' }), 8, 9))
    .withPanel(tablePanel('Volume change by application (ratio to usual)', anomaly({ kind: 'volume_change', groupBy: ['app'], topN: 20, measure: 'ratio' }), 8, 9))
    .withPanel(tablePanel('Volume change by responder (robust score)', anomaly({ kind: 'volume_change', groupBy: ['dst'], topN: 20, measure: 'score' }), 8, 9))
    .withPanel(tablePanel('New responder countries (flows)', anomaly({ kind: 'new_values', key: 'dst_country', topN: 20 }), 8, 8))
    .withPanel(tablePanel('New responder ports (flows)', anomaly({ kind: 'new_values', key: 'dport', topN: 20 }), 8, 8))
    .withPanel(tablePanel('New server names (flows)', anomaly({ kind: 'new_values', key: 'server_name', topN: 20 }), 8, 8))
    .withPanel(tablePanel('Scan suspects: failed host:port targets', anomaly({ kind: 'scan_suspects', measure: 'failed_targets', topN: 20 }), 12, 8))
    .withPanel(tablePanel('Scan suspects: host:port targets', anomaly({ kind: 'scan_suspects', measure: 'targets', topN: 20 }), 12, 8))
    .withPanel(tablePanel('Failed connections by responder', anomaly({ kind: 'failure_surge', groupBy: ['dst'], measure: 'failed_flows', topN: 20 }), 8, 8))
    .withPanel(tablePanel('Failed connections (robust score)', anomaly({ kind: 'failure_surge', measure: 'failed_score' }), 8, 8))
    .withPanel(tablePanel('DNS errors (NXDOMAIN, SERVFAIL) by client', anomaly({ kind: 'failure_surge', groupBy: ['src'], measure: 'dns_errors', topN: 20 }), 8, 8));
  // TCP health: where segments get lost, how far away servers are, who stalls or resets. Flow rows
  // link to their conversation at its time (the flow table's start column).
  const TCP = { key: 'proto', operator: '=', value: 6 };
  const worstColumns = ['first', 'duration_ms', 'src', 'sport', 'dst', 'dport', 'dst_country', 'server_name', 'retrans', 'src_retrans', 'dst_retrans', 'dst_fast_retrans',
    'src_lost_segments', 'dst_lost_segments', 'src_dup_acks', 'dst_dup_acks', 'src_zero_windows', 'dst_zero_windows', 'handshake_rtt_us', 'server_rtt_median_us', 'client_rtt_median_us', 'reset_by', 'state', 'src_pkts', 'dst_pkts'];
  const tcpHealth = base(UIDS.tcpHealth, 'Capsight / TCP health', "Retransmissions, RTT, zero windows and resets per flow and over time (Wireshark's TCP analysis; see docs/tcp-health.md)")
    .withPanel(series('Retransmission rate by server (% of its TCP packets)', { metric: 'retrans_rate', groupBy: ['dst'], topN: 8 }, 'percent').span(12).height(8))
    .withPanel(series('Retransmitted segments by server port', { metric: 'retransmissions', groupBy: ['dport'], topN: 8 }, 'short').span(12).height(8))
    .withPanel(series('Handshake RTT at the capture point (median) by server country', { metric: 'handshake_rtt', groupBy: ['dst_country'], topN: 8 }, 'ms').span(12).height(8))
    .withPanel(series('Handshake RTT at the capture point (median) by server port', { metric: 'handshake_rtt', groupBy: ['dport'], topN: 8 }, 'ms').span(12).height(8))
    .withPanel(series('Handshake failures by state (S0 unanswered, REJ refused, resets)', { metric: 'flows', groupBy: ['state'], filters: [...VARIABLE_FILTERS, FAILED, TCP] }, 'short').span(12).height(8))
    .withPanel(series('Flows reset, by who reset (src client, dst server)', { metric: 'resets', groupBy: ['reset_by'] }, 'short').span(12).height(8))
    .withPanel(tablePanel('Worst flows: most retransmissions (a row opens its conversation)', { kind: 'flows', limit: 200, sort: { by: 'retrans', desc: true }, filters: [...VARIABLE_FILTERS, { key: 'retrans', operator: '>', value: 0 }], columns: worstColumns }, 24, 12))
    .withPanel(tablePanel('Slowest handshakes', { kind: 'flows', limit: 200, sort: { by: 'handshake_rtt_us', desc: true }, filters: [...VARIABLE_FILTERS, { key: 'handshake_rtt', operator: '>', value: 0 }], columns: worstColumns }, 12, 10))
    .withPanel(tablePanel('Stalled receivers: flows with zero windows', { kind: 'flows', limit: 200, sort: { by: 'dst_zero_windows', desc: true }, filters: [...VARIABLE_FILTERS, { key: 'zero_windows', operator: '>', value: 0 }], columns: worstColumns }, 12, 10));
  return {
    overview: overview.build(),
    flows: flows.build(),
    endpoints: endpoints.build(),
    geography: geography.build(),
    protocols: protocols.build(),
    anomalies: anomalies.build(),
    'tcp-health': tcpHealth.build(),
  };
}

/** A panel of a built dashboard, as far as the tests read it. */
export interface BuiltPanel {
  type: string;
  title: string;
  datasource?: { uid: string; type: string };
  targets?: Array<Record<string, unknown>>;
  /** A collapsed row holds its panels. */
  panels?: BuiltPanel[];
}

/** Every panel, those inside collapsed rows included (rows themselves carry no data). */
export function allPanels(panels: BuiltPanel[]): BuiltPanel[] {
  return panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}
