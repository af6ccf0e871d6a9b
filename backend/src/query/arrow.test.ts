import * as fs from 'node:fs';
import * as path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import type { DataFrameJSON } from './frames';
import { decodeArrowFrame } from '../../../plugin-backend/src/testing/arrow-to-json';
import { SDK_DIR, sdkAvailable, sdkNotice } from '../../../plugin-backend/src/testing/plugin-host';
import { frameToArrow } from './arrow';

/**
 * Arrow frames against the Go SDK's own golden frame (../shared/grafana/sdk-go): written by the
 * SDK's Arrow writer, with its frame-JSON twin. The reader must read the golden file to the JSON's
 * values; the writer must give the same schema shape (Arrow types, nullability, metadata keys and
 * their encodings) as the Go SDK for the same field types.
 */
const run = sdkAvailable() ? describe : describe.skip;
if (!sdkAvailable()) sdkNotice('Arrow golden-frame tests');

interface GoldenJSON {
  schema: { name: string; refId: string; meta: Record<string, unknown>; fields: { name: string; type: string; typeInfo: { frame: string; nullable?: boolean }; labels?: Record<string, string>; config?: Record<string, unknown> }[] };
  data: { values: unknown[][]; entities?: ({ NaN?: number[]; Inf?: number[]; NegInf?: number[] } | null)[]; nanos?: (number[] | null)[] };
}

const golden = (): { arrow: Buffer; json: GoldenJSON } => ({
  arrow: fs.readFileSync(path.join(SDK_DIR, 'all_types.golden.arrow')),
  json: JSON.parse(fs.readFileSync(path.join(SDK_DIR, 'all_types.golden.json'), 'utf8')) as GoldenJSON,
});

/** The golden JSON's column i with its entities (NaN, +-Inf) put back in place of the nulls that stand for them. */
function expectedColumn(json: GoldenJSON, i: number): unknown[] {
  // float32 values: the JSON prints the shortest float32 text; the file holds the float32 itself.
  const f32 = json.schema.fields[i].typeInfo.frame === 'float32';
  const col = json.data.values[i].map((v) => (f32 && typeof v === 'number' ? Math.fround(v) : v));
  const e = json.data.entities?.[i];
  for (const r of e?.NaN ?? []) col[r] = NaN;
  for (const r of e?.Inf ?? []) col[r] = Infinity;
  for (const r of e?.NegInf ?? []) col[r] = -Infinity;
  return col;
}

run('Arrow frames and the Go SDK', () => {
  it('reads the SDK\'s golden frame to the values of its JSON twin', () => {
    const { arrow, json } = golden();
    const frame = decodeArrowFrame(arrow);
    expect(frame.magic).toBe('ARROW1');
    expect(frame.name).toBe(json.schema.name);
    expect(frame.refId).toBe(json.schema.refId);
    expect(frame.meta).toEqual(json.schema.meta);
    expect(frame.fields.map((f) => f.name)).toEqual(json.schema.fields.map((f) => f.name));
    const table = tableFromIPC(arrow);
    json.schema.fields.forEach((f, i) => {
      const got = frame.fields[i];
      expect([f.name, got.type]).toEqual([f.name, f.type === 'number' ? 'number' : f.type]);
      expect([f.name, got.nullable]).toEqual([f.name, f.typeInfo.nullable === true]);
      expect([f.name, got.labels]).toEqual([f.name, f.labels]);
      if (f.config) expect([f.name, got.config]).toEqual([f.name, f.config]);
      if (f.type === 'time') {
        // Compare as exact ns: the JSON has ms plus a nanos remainder, the file has ns.
        const ns = [...(table.getChildAt(i)!.data[0].values as BigInt64Array)];
        const nanos = json.data.nanos?.[i] ?? [];
        const want = (json.data.values[i] as (number | null)[]).map((ms, r) => (ms === null ? null : BigInt(ms) * 1_000_000n + BigInt(nanos[r] ?? 0)));
        expect([f.name, ns.map((v, r) => (want[r] === null ? null : v))]).toEqual([f.name, want]);
      } else {
        expect([f.name, frame.values[i]]).toEqual([f.name, expectedColumn(json, i)]);
      }
    });
  });

  it('writes frames of the same shape as the SDK for the same field types', () => {
    const { arrow, json } = golden();
    const table = tableFromIPC(arrow);
    // The golden frame's fields as frame JSON (our writer's input), values included.
    const frame: DataFrameJSON & { data: { nanos?: (number[] | null)[] } } = {
      schema: { name: json.schema.name, refId: json.schema.refId, meta: json.schema.meta as DataFrameJSON['schema']['meta'], fields: json.schema.fields as DataFrameJSON['schema']['fields'] },
      data: { values: json.schema.fields.map((_, i) => expectedColumn(json, i)), nanos: json.data.nanos },
    };
    const ours = tableFromIPC(frameToArrow(frame));
    expect([...ours.schema.metadata.keys()].sort()).toEqual([...table.schema.metadata.keys()].sort());
    expect(JSON.parse(ours.schema.metadata.get('meta')!)).toEqual(JSON.parse(table.schema.metadata.get('meta')!));
    table.schema.fields.forEach((want, i) => {
      const got = ours.schema.fields[i];
      expect([want.name, String(got.type), got.nullable]).toEqual([want.name, String(want.type), want.nullable]);
      // Same metadata keys with the same encodings (the SDK writes "config": "{}" for an empty config object; we leave empty configs out).
      const keys = (m: Map<string, string>) => [...m.keys()].filter((k) => !(k === 'config' && m.get(k) === '{}')).sort();
      expect([want.name, keys(got.metadata)]).toEqual([want.name, keys(want.metadata)]);
      const decoded = (m: Map<string, string>, k: string): unknown => (k === 'tstype' ? m.get(k) : JSON.parse(m.get(k)!));
      for (const k of keys(want.metadata)) expect([want.name, k, decoded(got.metadata, k)]).toEqual([want.name, k, decoded(want.metadata, k)]);
      // And the same values, read back the way Grafana reads them.
      const a = table.getChildAt(i)!;
      const b = ours.getChildAt(i)!;
      for (let r = 0; r < table.numRows; r++) {
        const valid = !want.nullable || a.isValid(r);
        expect([want.name, r, b.isValid(r)]).toEqual([want.name, r, valid]);
        const plain = (v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString() : v);
        if (valid) expect([want.name, r, plain(b.get(r))]).toEqual([want.name, r, plain(a.get(r))]);
      }
    });
  });

  it('never writes dictionary vectors, and writes times in ns with no time zone', () => {
    const bytes = frameToArrow({
      schema: { refId: 'A', meta: { type: 'table', typeVersion: [0, 1] }, fields: [{ name: 't', type: 'time', config: {} }, { name: 's', type: 'string', config: {} }] },
      data: { values: [[1767225600123.456, 1767225601000], ['a', 'a']] },
    });
    const t = tableFromIPC(bytes);
    expect(String(t.schema.fields[0].type)).toBe('Timestamp<NANOSECOND>');
    expect((t.schema.fields[0].type as { timezone?: string | null }).timezone ?? null).toBeNull();
    expect(String(t.schema.fields[1].type)).toBe('Utf8');
    expect([...(t.getChildAt(0)!.data[0].values as BigInt64Array)]).toEqual([1767225600123456000n, 1767225601000000000n]);
  });
});
