import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkQuery, type Query } from '../backend/src/query/model';
import { NO_VARIABLES } from '../src/datasource/query/interpolate';
import { resolveQuery, toSidecarQuery } from '../src/datasource/query/sidecar-query';
import { generated, postJson, startSidecar, upload, type RunningSidecar } from '../backend/src/testing/sidecar';
import { DASHBOARDS } from '../backend/src/query/answer';
import { allPanels, buildDashboards, DATASOURCE, UIDS, type BuiltPanel } from './capsight';

type Panel = BuiltPanel;

const committed = path.resolve(__dirname, '../src/dashboards');
const dashboards = buildDashboards() as Record<
  string,
  { uid: string; panels: Panel[]; templating: { list: Array<{ type: string; datasource?: { uid: string } }> }; annotations: { list: Array<{ datasource: unknown; target: Record<string, unknown> }> } }
>;

/** What the backend sends the sidecar for a dashboard target when every variable is "All" (the plugin's own resolution). */
function asSent(t: Record<string, unknown>): Query {
  return toSidecarQuery(resolveQuery(t, NO_VARIABLES), { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 0, 2) }) as unknown as Query;
}

describe('bundled dashboards', () => {
  it('are the committed JSON (run npm run dashboards after changing capsight.ts)', () => {
    for (const [name, d] of Object.entries(dashboards)) {
      expect(JSON.parse(fs.readFileSync(path.join(committed, `${name}.json`), 'utf8'))).toEqual(JSON.parse(JSON.stringify(d)));
    }
    expect(Object.values(dashboards).map((d) => d.uid).sort()).toEqual(Object.values(UIDS).sort());
    // The sidecar's data links name the same dashboards.
    for (const [k, uid] of Object.entries(DASHBOARDS)) expect([k, uid]).toEqual([k, UIDS[k as keyof typeof UIDS]]);
  });

  it('read every panel, target and variable from the provisioned data source', () => {
    for (const d of Object.values(dashboards)) {
      for (const p of allPanels(d.panels)) {
        expect(p.datasource).toEqual(DATASOURCE);
        for (const t of p.targets ?? []) {
          expect(t.datasource).toEqual(DATASOURCE);
        }
      }
      for (const v of d.templating.list.filter((x) => x.type !== 'custom')) {
        expect(v.datasource).toEqual(DATASOURCE);
      }
      for (const a of d.annotations.list) {
        expect(a.datasource).toEqual(DATASOURCE);
        expect(a.target).toMatchObject({ kind: 'captures' });
      }
    }
  });

  describe('against a real sidecar', () => {
    let s: RunningSidecar;
    beforeAll(async () => {
      s = await startSidecar();
      await upload(s, 'g.pcap', generated({ bytes: 300_000, seed: 4 }));
    });
    afterAll(async () => s.close());

    it('every query is one the sidecar accepts and answers', async () => {
      let n = 0;
      for (const d of Object.values(dashboards)) {
        for (const p of allPanels(d.panels)) {
          for (const t of p.targets ?? []) {
            const q = asSent(t);
            expect(() => checkQuery(q)).not.toThrow();
            const r = await postJson(s, '/api/query', { queries: [q] });
            expect({ panel: p.title, status: r.status, answer: r.status === 200 ? undefined : r.json }).toEqual({ panel: p.title, status: 200, answer: undefined });
            n++;
          }
        }
      }
      expect(n).toBeGreaterThan(25);
    });
  });
});
