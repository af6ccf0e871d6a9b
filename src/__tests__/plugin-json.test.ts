import Ajv from 'ajv';
import * as fs from 'fs';
import * as path from 'path';

const SCHEMA = path.resolve(__dirname, '../../../shared/grafana/plugin.schema.json');
const root = path.resolve(__dirname, '..');

function pluginJsons(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      return e.name === '__tests__' ? [] : pluginJsons(p);
    }
    return e.name === 'plugin.json' ? [p] : [];
  });
}

const run = fs.existsSync(SCHEMA) ? describe : describe.skip;
if (!fs.existsSync(SCHEMA)) {
  process.stderr.write(`\n*** SKIPPED: plugin.json schema validation: ${SCHEMA} not found (the shared folder sits beside the clone in CI) ***\n\n`);
}

run('plugin.json files', () => {
  const files = pluginJsons(root);

  it('are the app and its nested data source and panel, with the names the dashboards use', () => {
    const ids = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')).id).sort();
    expect(ids).toEqual(['capsight-app', 'capsight-flows-datasource', 'capsight-geomap-panel']);
  });

  it('makes the data source a backend plugin for alerting, whose executables the build produces for both architectures', () => {
    const ds = JSON.parse(fs.readFileSync(path.join(root, 'datasource/plugin.json'), 'utf8'));
    expect(ds).toMatchObject({ backend: true, alerting: true, executable: 'gpx_capsight_flows' });
    // Uploads stay on a streaming proxy route: POST only, Editors, the token added by Grafana; exports
    // (downloads from row links) on GET routes any viewer may follow, the token added the same way.
    const token = { name: 'Authorization', content: 'Bearer {{ .SecureJsonData.apiToken }}' };
    expect(ds.routes).toEqual([
      expect.objectContaining({ path: 'upload', method: 'POST', reqRole: 'Editor', url: '{{ .JsonData.url }}/api/imports/upload', headers: expect.arrayContaining([token]) }),
      { path: 'export/pcap', method: 'GET', reqRole: 'Viewer', url: '{{ .JsonData.url }}/api/export/pcap', headers: [token] },
      { path: 'export/flows', method: 'GET', reqRole: 'Viewer', url: '{{ .JsonData.url }}/api/export/flows', headers: [token] },
    ]);
    for (const arch of ['amd64', 'arm64']) {
      const bin = path.resolve(root, `../dist/datasource/${ds.executable}_linux_${arch}`);
      expect([arch, fs.existsSync(bin) && (fs.statSync(bin).mode & 0o111) === 0o111]).toEqual([arch, true]);
    }
  });

  it.each(files.map((f) => [path.relative(root, f), f]))('%s validates against Grafana\'s schema', (_name, file) => {
    const schema = JSON.parse(fs.readFileSync(SCHEMA, 'utf8'));
    delete schema.$schema;
    // The schema's patterns escape '-' (fine in JavaScript's default mode, not in Ajv's unicode mode); formats are not checked.
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false, validateFormats: false });
    const validate = ajv.compile(schema);
    const ok = validate(JSON.parse(fs.readFileSync(file, 'utf8')));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });
});
