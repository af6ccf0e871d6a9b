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
