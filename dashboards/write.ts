import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDashboards } from './capsight';

/** `npm run dashboards`: writes src/dashboards/<name>.json from capsight.ts. */
const out = path.resolve(__dirname, '../src/dashboards');
fs.mkdirSync(out, { recursive: true });
for (const [name, d] of Object.entries(buildDashboards())) {
  fs.writeFileSync(path.join(out, `${name}.json`), JSON.stringify(d, null, 2) + '\n');
  process.stdout.write(`wrote src/dashboards/${name}.json\n`);
}
