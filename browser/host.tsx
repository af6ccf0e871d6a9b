/**
 * A stand-in for Grafana's front end, for the real-browser test: it supplies the modules Grafana
 * shares with plugins (react, @grafana/data, @grafana/ui, @grafana/runtime, @emotion/css, rxjs),
 * loads the built dist/ modules through an AMD define() the way Grafana's SystemJS does, and
 * renders the plugin's panel, query editor and app page. The plugin's requests to Grafana's API
 * (/api/ds/query, the data source's resources, health and upload route) go to the test's server,
 * which hands them to a stand-in for Grafana's server with the real plugin executable behind it.
 */
import * as emotionCss from '@emotion/css';
import * as grafanaData from '@grafana/data';
import { createTheme } from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import { locationService, setBackendSrv, setDataSourceSrv, setTemplateSrv, type BackendSrvRequest } from '@grafana/runtime';
import type { DataQueryResponse } from '@grafana/data';
import * as grafanaUi from '@grafana/ui';
import { GlobalStyles, PanelChrome, ThemeContext, TimeSeries, useTheme2 } from '@grafana/ui';
import * as React from 'react';
import * as ReactDOM from 'react-dom/client';
import * as rxjs from 'rxjs';

const shared: Record<string, unknown> = {
  react: React,
  '@grafana/data': grafanaData,
  '@grafana/ui': grafanaUi,
  '@grafana/runtime': grafanaRuntime,
  '@emotion/css': emotionCss,
  rxjs,
};

/** Loads one AMD module of dist/ (as Grafana does), resolving its dependencies from `shared`. */
function load(url: string): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    (window as any).define = (deps: string[], factory: (...a: unknown[]) => unknown) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const exports: Record<string, unknown> = {};
      const args = deps.map((d) => (d === 'module' ? { uri: url, id: url } : d === 'exports' ? exports : shared[d]));
      const missing = deps.filter((d) => d !== 'module' && d !== 'exports' && !(d in shared));
      if (missing.length > 0) {
        reject(new Error(`${url} needs ${missing.join(', ')}`));
        return;
      }
      const out = factory(...args);
      resolve((out as Record<string, unknown>) ?? exports);
    };
    (window as any).define.amd = true; // eslint-disable-line @typescript-eslint/no-explicit-any
    const s = document.createElement('script');
    s.src = url;
    s.onerror = () => reject(new Error(`cannot load ${url}`));
    document.head.appendChild(s);
  });
}

// Grafana's backendSrv: the plugin's requests go to the same paths on the test's server.
setBackendSrv({
  fetch: (o: BackendSrvRequest) =>
    new rxjs.Observable((sub) => {
      const params = new URLSearchParams(Object.entries(o.params ?? {}).map(([k, v]) => [k, String(v)])).toString();
      const url = params ? `${o.url}${o.url.includes('?') ? '&' : '?'}${params}` : o.url;
      fetch(url, { method: o.method ?? 'GET', headers: o.data ? { 'content-type': 'application/json' } : {}, body: o.data ? JSON.stringify(o.data) : undefined })
        .then(async (r) => {
          const data = await r.json();
          if (r.ok) {
            sub.next({ data, status: r.status, ok: true } as never);
            sub.complete();
          } else {
            sub.error({ status: r.status, data });
          }
        })
        .catch((e) => sub.error(e));
    }),
} as never);
setTemplateSrv({ replace: (s: string) => s, getVariables: () => [] } as never);

const PLUGIN = '/public/plugins/capsight-app';
const settings = { id: 1, uid: 'capsight', type: 'capsight-flows-datasource', name: 'Capsight', jsonData: {}, meta: {}, access: 'proxy' };

/** The map's data, asked as a dashboard panel asks: the data source's query() through Grafana's /api/ds/query. */
async function countries(instance: { query: (r: unknown) => rxjs.Observable<DataQueryResponse> }): Promise<grafanaData.DataFrame[]> {
  const range = { from: grafanaData.dateTime(Date.now() - 86400_000), to: grafanaData.dateTime(), raw: { from: 'now-24h', to: 'now' } };
  const r = await rxjs.lastValueFrom(instance.query({ targets: [{ refId: 'A', kind: 'countries', side: 'both', topN: 300 }], range, scopedVars: {}, intervalMs: 60_000, maxDataPoints: 100 }));
  return r.data;
}

let root: ReactDOM.Root | null = null;
function mount(mode: 'light' | 'dark', node: React.ReactNode): void {
  const el = document.getElementById('root') as HTMLElement;
  root?.unmount();
  root = ReactDOM.createRoot(el);
  // Grafana's global styles (fonts, text colours, tables) as the real front end applies them.
  root.render(
    <ThemeContext.Provider value={createTheme({ colors: { mode } })}>
      <GlobalStyles />
      <div style={{ padding: 8 }}>{node}</div>
    </ThemeContext.Provider>,
  );
}

(window as any).capsightHost = { // eslint-disable-line @typescript-eslint/no-explicit-any
  async panel(mode: 'light' | 'dark') {
    const ds = await load(`${PLUGIN}/datasource/module.js`);
    const instance = new ds.plugin.DataSourceClass(settings);
    setDataSourceSrv({ get: async () => instance } as never);
    const { plugin } = await load(`${PLUGIN}/panels/geomap/module.js`);
    const Panel = plugin.panel;
    const data = { series: await countries(instance), state: 'Done' };
    const variable = () => new URLSearchParams(window.location.search).get('var-country');
    const View = () => {
      const [, setTick] = React.useState(0);
      React.useEffect(() => locationService.getHistory().listen(() => setTick((t) => t + 1)), []);
      return (
        <Panel
          data={data}
          width={960}
          height={520}
          options={{ metric: 'bytes', variable: 'country' }}
          replaceVariables={(s: string) => (s === '$country' ? (variable() ?? s) : s)}
          fieldConfig={{ defaults: {}, overrides: [] }}
          timeRange={{ from: grafanaData.dateTime(Date.now() - 86400_000), to: grafanaData.dateTime(), raw: { from: 'now-24h', to: 'now' } }}
          timeZone="utc"
          id={1}
          title="Geomap"
          transparent={false}
          renderCounter={0}
          onOptionsChange={() => undefined}
          onFieldConfigChange={() => undefined}
          onChangeTimeRange={() => undefined}
          eventBus={{}}
        />
      );
    };
    mount(mode, <View />);
  },
  async queryEditor(mode: 'light' | 'dark') {
    const { plugin } = await load(`${PLUGIN}/datasource/module.js`);
    const ds = new plugin.DataSourceClass(settings);
    const Editor = plugin.components.QueryEditor;
    const View = () => {
      const [query, setQuery] = React.useState({ refId: 'A', kind: 'timeseries', metric: 'bytes', groupBy: ['app'], topN: 10, filters: [{ key: 'country', operator: '=', value: 'US' }] });
      return <Editor query={query} datasource={ds} onChange={setQuery} onRunQuery={() => undefined} />;
    };
    mount(mode, <View />);
  },
  async captures(mode: 'light' | 'dark') {
    const { plugin } = await load(`${PLUGIN}/module.js`);
    const Root = plugin.root;
    mount(mode, <Root meta={{}} path="/a/capsight-app" query={{}} />);
  },
  /** One bundled dashboard (dist/dashboards/<name>.json) as panels; `which` is "<name>" or "<name>?var=value&..." (other variables "All"). */
  async dashboard(mode: 'light' | 'dark', which: string) {
    const [name, query] = which.split('?');
    const chosen = Object.fromEntries(new URLSearchParams(query ?? ''));
    const ds = await load(`${PLUGIN}/datasource/module.js`);
    const instance = new ds.plugin.DataSourceClass(settings);
    setDataSourceSrv({ get: async () => instance, getInstanceSettings: () => settings } as never);
    // Every dashboard variable at "All" ($sort at its default); the picker's search empty.
    setTemplateSrv({ replace: (t: string) => t.replace(/\$\{?(\w+)\}?/g, (_m: string, v: string) => chosen[v] ?? (v === 'sort' ? 'first' : v.startsWith('__') ? '' : '*')), getVariables: () => [] } as never);
    const geomap = (await load(`${PLUGIN}/panels/geomap/module.js`)).plugin.panel;
    const board = (await (await fetch(`${PLUGIN}/dashboards/${name}.json`)).json()) as { title: string; panels: DashPanel[] };
    const range = { from: grafanaData.dateTime(Date.now() - 6 * 3600_000), to: grafanaData.dateTime(), raw: { from: 'now-6h', to: 'now' } };
    const panels = board.panels.flatMap((p) => (p.type === 'row' ? [p, ...(p.panels ?? [])] : [p]));
    const answers = await Promise.all(
      panels.map((p) =>
        p.type === 'row'
          ? Promise.resolve({ data: [] } as DataQueryResponse)
          : rxjs.lastValueFrom(instance.query({ targets: p.targets ?? [], range, scopedVars: {}, filters: [], intervalMs: 60_000, maxDataPoints: 300, app: 'dashboard', requestId: `${name}-${p.id}`, timezone: 'utc', startTime: Date.now() })) as Promise<DataQueryResponse>,
      ),
    );
    const title = `${board.title}${query ? ` (${query.replace(/&/g, ', ')})` : ''}`;
    mount(mode, <Dashboard title={title} panels={panels} answers={answers} range={range} Geomap={geomap} />);
  },
};

interface DashPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { w: number; h: number };
  targets?: unknown[];
  panels?: DashPanel[];
  fieldConfig?: { defaults?: { unit?: string } };
  options?: Record<string, unknown>;
  collapsed?: boolean;
}

/**
 * A frame as a plain table, values through the fields' own display processors (units, names), the
 * hidden fields left out. (@grafana/ui's Table does not render outside Grafana's module loader: its
 * data-grid dependency comes out of this bundle as an object, not a component.)
 */
function FrameTable({ frame, height }: { frame: grafanaData.DataFrame; height: number }) {
  const theme = useTheme2();
  const fields = frame.fields.filter((f) => !(f.config.custom as { hidden?: boolean } | undefined)?.hidden);
  const rows = Math.max(0, Math.min(frame.length, Math.floor((height - 24) / 22)));
  const cell = { padding: '2px 6px', borderBottom: `1px solid ${theme.colors.border.weak}`, whiteSpace: 'nowrap' as const, fontSize: 12 };
  return (
    <div style={{ overflow: 'hidden', height }}>
      <table style={{ borderCollapse: 'collapse' }}>
        <thead>
          <tr>
            {fields.map((f) => (
              <th key={f.name} style={{ ...cell, textAlign: 'left', color: theme.colors.text.secondary }}>
                {grafanaData.getFieldDisplayName(f, frame)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {Array.from({ length: rows }, (_, r) => (
            <tr key={r}>
              {fields.map((f) => (
                <td key={f.name} style={{ ...cell, textAlign: f.type === 'number' ? 'right' : 'left' }}>
                  {f.config.links?.length ? (
                    <a href={rowLink(f.config.links[0].url, frame, r)} title={f.config.links[0].title} data-link={f.config.links[0].title}>
                      {f.display ? grafanaData.formattedValueToString(f.display(f.values[r])) : String(f.values[r] ?? '')}
                    </a>
                  ) : f.display ? (
                    grafanaData.formattedValueToString(f.display(f.values[r]))
                  ) : (
                    String(f.values[r] ?? '')
                  )}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {frame.length > rows && <div style={{ fontSize: 11, color: theme.colors.text.secondary }}>… {frame.length - rows} more row(s)</div>}
    </div>
  );
}

/** A data link's URL for one row, interpolated as Grafana does (${__data.fields.<name>}). */
function rowLink(url: string, frame: grafanaData.DataFrame, row: number): string {
  return url.replace(/\$\{__data\.fields\.(\w+)\}/g, (_m, name: string) => encodeURIComponent(String(frame.fields.find((f) => f.name === name)?.values[row] ?? '')));
}

const WIDTH = 1440;
const ROW_HEIGHT = 30;

/**
 * A dashboard's panels drawn with Grafana's own components where @grafana/ui has them (time
 * series, tables; pie and bar charts shown as their table), the geomap with the plugin's panel,
 * each with the notices of its answer: enough to look at what every panel answers.
 */
function Dashboard({ title, panels, answers, range, Geomap }: { title: string; panels: DashPanel[]; answers: DataQueryResponse[]; range: grafanaData.TimeRange; Geomap: React.ComponentType<Record<string, unknown>> }) {
  const theme = useTheme2();
  return (
    <div>
      <h2 style={{ margin: '4px 0 8px' }}>{title}</h2>
      <div style={{ display: 'flex', flexWrap: 'wrap', width: WIDTH, gap: 0 }} data-testid="dashboard">
        {panels.map((p, i) => {
          if (p.type === 'row') {
            return (
              <h3 key={p.id} style={{ width: WIDTH, margin: '12px 0 4px' }}>
                {p.collapsed ? '▸' : '▾'} {p.title} {p.collapsed ? '(collapsed: one click opens it; its panels follow)' : ''}
              </h3>
            );
          }
          const width = Math.floor((p.gridPos.w / 24) * WIDTH) - 8;
          const height = p.gridPos.h * ROW_HEIGHT;
          const frames = grafanaData.applyFieldOverrides({
            data: answers[i].data,
            fieldConfig: { defaults: { unit: p.fieldConfig?.defaults?.unit, color: { mode: 'palette-classic' } }, overrides: [] },
            replaceVariables: (v: string) => v,
            theme,
            timeZone: 'utc',
          });
          const notices = frames.flatMap((f) => f.meta?.notices ?? []);
          const errors = (answers[i].errors ?? []).map((e) => e.message);
          return (
            <div key={p.id} style={{ margin: 4 }} data-panel={p.title}>
              <PanelChrome title={p.title} width={width} height={height}>
                {(w: number, h: number) => {
                  const room = h - (notices.length + errors.length) * 18;
                  const body =
                    frames.length === 0 || frames.every((f) => f.fields.length === 0) ? (
                      <div>No data</div>
                    ) : p.type === 'timeseries' ? (
                      <TimeSeries frames={frames} width={w} height={room} timeRange={range} timeZone="utc" legend={{ displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] } as never} />
                    ) : p.type === 'capsight-geomap-panel' ? (
                      <Geomap data={{ series: answers[i].data, state: 'Done' }} width={w} height={room} options={p.options} replaceVariables={(v: string) => v} fieldConfig={{ defaults: {}, overrides: [] }} timeRange={range} timeZone="utc" id={p.id} title={p.title} transparent={false} renderCounter={0} onOptionsChange={() => undefined} onFieldConfigChange={() => undefined} onChangeTimeRange={() => undefined} eventBus={{}} />
                    ) : (
                      <FrameTable frame={frames[0]} height={room} />
                    );
                  return (
                    <div>
                      {[...errors.map((text) => ({ text, link: undefined as string | undefined })), ...notices].map((n) => (
                        <div key={n.text} style={{ fontSize: 12, color: theme.colors.text.secondary }} data-notice>
                          {n.link ? (
                            <a href={n.link} data-notice-link>
                              {n.text}
                            </a>
                          ) : (
                            n.text
                          )}
                        </div>
                      ))}
                      {body}
                    </div>
                  );
                }}
              </PanelChrome>
            </div>
          );
        })}
      </div>
    </div>
  );
}
