import { tableFromIPC, Type, type Field } from 'apache-arrow';

/**
 * Reads an Arrow frame the way Grafana's server does (the Go SDK's UnmarshalArrowFrame) and gives
 * it back as frame JSON, as /api/ds/query would: schema metadata name/refId/meta, per field
 * tstype/labels/config, values column by column with times in epoch ms (the sub-millisecond part
 * kept as a fraction), nulls only where the field is nullable. Test code: the stand-in for
 * Grafana's server and the frame assertions use it.
 */
export interface DecodedField {
  name: string;
  type: string;
  arrowType: string;
  nullable: boolean;
  tstype: string | undefined;
  labels?: Record<string, string>;
  config?: Record<string, unknown>;
}

export interface DecodedFrame {
  name: string;
  refId: string;
  meta: Record<string, unknown> | undefined;
  fields: DecodedField[];
  values: unknown[][];
  /** Bytes 0-5 and the last 6: "ARROW1" for the IPC file format. */
  magic: string;
}

const FRAME_TYPE: Record<string, string> = { time: 'time', number: 'number', string: 'string', boolean: 'boolean', other: 'other', enum: 'enum' };

function parse(json: string | undefined): Record<string, unknown> | undefined {
  return json === undefined ? undefined : (JSON.parse(json) as Record<string, unknown>);
}

/** ns to epoch ms; whole microseconds divide exactly as the sidecar computes them ((ns // 1000) / 1000). */
const THOUSAND = BigInt(1000);

function nsToMs(ns: bigint): number {
  return ns % THOUSAND === BigInt(0) ? Number(ns / THOUSAND) / 1000 : Number(ns) / 1e6;
}

function valueOf(field: Field, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (field.type.typeId) {
    case Type.Timestamp:
      return typeof v === 'bigint' ? nsToMs(v) : v;
    case Type.Int:
      return typeof v === 'bigint' ? Number(v) : v;
    case Type.Binary:
      return JSON.parse(Buffer.from(v as Uint8Array).toString('utf8'));
    default:
      return v;
  }
}

export function decodeArrowFrame(bytes: Uint8Array): DecodedFrame {
  const head = Buffer.from(bytes.subarray(0, 6)).toString('latin1');
  const tail = Buffer.from(bytes.subarray(bytes.length - 6)).toString('latin1');
  if (head !== 'ARROW1' || tail !== 'ARROW1') throw new Error(`not an Arrow IPC file (starts "${head}", ends "${tail}")`);
  const table = tableFromIPC(bytes);
  const md = table.schema.metadata;
  const fields: DecodedField[] = [];
  const values: unknown[][] = [];
  table.schema.fields.forEach((f, i) => {
    if (f.type.typeId === Type.Dictionary) throw new Error(`field ${f.name}: dictionary vectors are rejected by Grafana`);
    const tstype = f.metadata.get('tstype');
    fields.push({
      name: f.name,
      type: FRAME_TYPE[tstype ?? ''] ?? 'other',
      arrowType: String(f.type),
      nullable: f.nullable,
      tstype,
      labels: parse(f.metadata.get('labels')) as Record<string, string> | undefined,
      config: parse(f.metadata.get('config')),
    });
    const col: unknown[] = [];
    const raw = table.getChildAt(i);
    // Timestamps are read from the raw ns values: the vector's get() would convert to ms floats.
    const data = raw?.data ?? [];
    for (const chunk of data) {
      for (let r = 0; r < chunk.length; r++) {
        const valid = !f.nullable || chunk.getValid(r);
        if (!valid) col.push(null);
        else if (f.type.typeId === Type.Timestamp) col.push(nsToMs((chunk.values as BigInt64Array)[r]));
        else col.push(valueOf(f, raw?.get(col.length)));
      }
    }
    values.push(col);
  });
  return { name: md.get('name') ?? '', refId: md.get('refId') ?? '', meta: parse(md.get('meta')), fields, values, magic: head };
}

/** The decoded frame in frame JSON (what Grafana's /api/ds/query returns for it). */
export function toFrameJSON(f: DecodedFrame): { schema: Record<string, unknown>; data: { values: unknown[][] } } {
  return {
    schema: {
      ...(f.name ? { name: f.name } : {}),
      refId: f.refId,
      meta: f.meta,
      fields: f.fields.map((x) => ({ name: x.name, type: x.type, typeInfo: { frame: goType(x.arrowType), nullable: x.nullable }, ...(x.labels ? { labels: x.labels } : {}), config: x.config ?? {} })),
    },
    data: { values: f.values },
  };
}

function goType(arrowType: string): string {
  if (arrowType.startsWith('Timestamp')) return 'time.Time';
  if (arrowType === 'Utf8') return 'string';
  if (arrowType === 'Bool') return 'bool';
  if (arrowType === 'Binary') return 'json.RawMessage';
  return arrowType.toLowerCase().replace(/^uint/, 'uint').replace(/^int/, 'int');
}
