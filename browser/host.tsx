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
import { GlobalStyles, ThemeContext } from '@grafana/ui';
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
};
