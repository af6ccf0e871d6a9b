import {
  Binary,
  Bool,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableToIPC,
  TimestampNanosecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  type Data,
  type DataType,
} from 'apache-arrow';
import type { DataFrameJSON, FrameField } from './frames';

/**
 * A data frame in the form Grafana's server reads from a backend plugin: one Arrow IPC *file* per
 * frame (the Go SDK opens it with a file reader; stream-format bytes fail). Types and metadata as
 * the Go SDK writes them: timestamps in nanoseconds without a time zone, strings as Utf8 (never a
 * dictionary), the Arrow nullable flag set exactly for the fields that may hold nulls; schema
 * metadata `name`, `refId`, `meta` (frame meta as JSON); field metadata `tstype`, `labels` and
 * `config` (JSON, present only when set).
 */

/** A frame field's Go type name (typeInfo.frame of frame JSON), without the pointer/nullable mark. */
type GoType = 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'float32' | 'float64' | 'string' | 'bool' | 'time.Time' | 'json.RawMessage' | 'enum';

const DEFAULT_GO_TYPE: Record<FrameField['type'], GoType> = { time: 'time.Time', number: 'float64', string: 'string', boolean: 'bool' };

const TS_TYPE: Record<GoType, string> = {
  int8: 'number', int16: 'number', int32: 'number', int64: 'number', uint8: 'number', uint16: 'number', uint32: 'number', uint64: 'number',
  float32: 'number', float64: 'number', string: 'string', bool: 'boolean', 'time.Time': 'time', 'json.RawMessage': 'other', enum: 'enum',
};

function arrowType(go: GoType): DataType {
  switch (go) {
    case 'int8': return new Int8();
    case 'int16': return new Int16();
    case 'int32': return new Int32();
    case 'int64': return new Int64();
    case 'uint8': return new Uint8();
    case 'uint16': case 'enum': return new Uint16();
    case 'uint32': return new Uint32();
    case 'uint64': return new Uint64();
    case 'float32': return new Float32();
    case 'float64': return new Float64();
    case 'string': return new Utf8();
    case 'bool': return new Bool();
    case 'time.Time': return new TimestampNanosecond();
    case 'json.RawMessage': return new Binary();
  }
}

function goType(f: FrameField): GoType {
  const declared = f.typeInfo?.frame?.replace(/^\*/, '') as GoType | undefined;
  return declared && declared in TS_TYPE ? declared : DEFAULT_GO_TYPE[f.type] ?? 'string';
}

/** Validity bitmap (bit set = value present), or undefined when every value is present. */
function validity(values: readonly unknown[]): { bitmap: Uint8Array | undefined; nulls: number } {
  let nulls = 0;
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++) {
    if (values[i] === null || values[i] === undefined) nulls++;
    else bitmap[i >> 3] |= 1 << (i & 7);
  }
  return { bitmap: nulls > 0 ? bitmap : undefined, nulls };
}

/**
 * Epoch ms to ns. The fraction carries whole microseconds (the sidecar's times are µs-exact; a
 * double near 1.7e12 ms resolves 0.24 µs, so rounding to µs restores them exactly); `nanos` adds
 * the sub-millisecond remainder where frame JSON has one.
 */
function toNs(ms: number, nanos = 0): bigint {
  const wholeMs = Math.floor(ms);
  const micros = Math.round((ms - wholeMs) * 1000);
  return BigInt(wholeMs) * 1_000_000n + BigInt(nanos > 0 ? nanos : micros * 1000);
}

function column(go: GoType, values: readonly unknown[], nanos?: readonly number[]): Data {
  const type = arrowType(go);
  const length = values.length;
  const { bitmap, nulls } = validity(values);
  const common = { type, length, nullCount: nulls, nullBitmap: bitmap } as const;
  switch (go) {
    case 'string':
    case 'json.RawMessage': {
      // One UTF-8 encoding of all values joined (a per-value encode cost ~10 ms per 1,000-row flow page);
      // the offsets come from each value's UTF-8 length.
      const texts = new Array<string>(length);
      const offsets = new Int32Array(length + 1);
      for (let i = 0; i < length; i++) {
        const v = values[i];
        texts[i] = v === null || v === undefined ? '' : go === 'string' ? String(v) : JSON.stringify(v);
        offsets[i + 1] = offsets[i] + Buffer.byteLength(texts[i], 'utf8');
      }
      const data = Buffer.from(texts.join(''), 'utf8');
      return makeData({ ...common, type: type as Utf8, valueOffsets: offsets, data });
    }
    case 'bool': {
      const data = new Uint8Array((length + 7) >> 3);
      values.forEach((v, i) => {
        if (v === true) data[i >> 3] |= 1 << (i & 7);
      });
      return makeData({ ...common, type: type as Bool, data });
    }
    case 'time.Time': {
      const data = new BigInt64Array(length);
      values.forEach((v, i) => {
        if (v !== null && v !== undefined) data[i] = toNs(Number(v), nanos?.[i] ?? 0);
      });
      return makeData({ ...common, type: type as TimestampNanosecond, data });
    }
    case 'int64':
    case 'uint64': {
      const data = go === 'int64' ? new BigInt64Array(length) : new BigUint64Array(length);
      // A JS number at the type's edge (2^63 or 2^64 after rounding) saturates instead of wrapping.
      const [min, max] = go === 'int64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        const n = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
        data[i] = n < min ? min : n > max ? max : n;
      });
      return makeData({ ...common, type: type as Int64, data: data as BigInt64Array });
    }
    default: {
      const Ctor = { int8: Int8Array, int16: Int16Array, int32: Int32Array, uint8: Uint8Array, uint16: Uint16Array, enum: Uint16Array, uint32: Uint32Array, float32: Float32Array, float64: Float64Array }[go];
      const data = new Ctor(length);
      values.forEach((v, i) => {
        if (v !== null && v !== undefined) data[i] = Number(v);
      });
      return makeData({ ...common, type: type as Float64, data: data as Float64Array });
    }
  }
}

/** Field metadata as the Go SDK writes it: tstype always, labels and config only when set. */
function fieldMetadata(f: FrameField, go: GoType): Map<string, string> {
  const m = new Map<string, string>();
  if (f.config && Object.keys(f.config).length > 0) m.set('config', JSON.stringify(f.config));
  if (f.labels && Object.keys(f.labels).length > 0) m.set('labels', JSON.stringify(f.labels));
  m.set('tstype', TS_TYPE[go]);
  return m;
}

/** Sub-millisecond parts of time fields, as frame JSON carries them (`data.nanos[fieldIndex][row]`). */
type Nanos = (number[] | null)[] | undefined;

export function frameToArrow(frame: DataFrameJSON & { data: { nanos?: Nanos } }): Uint8Array {
  const fields: Field[] = [];
  const children: Data[] = [];
  const values = frame.data?.values ?? [];
  const length = values[0]?.length ?? 0;
  frame.schema.fields.forEach((f, i) => {
    const go = goType(f);
    const col = values[i] ?? [];
    if (col.length !== length) throw new Error(`frame ${frame.schema.refId}: field "${f.name}" has ${col.length} values, the first field ${length}`);
    const nullable = f.typeInfo?.nullable === true || col.some((v) => v === null || v === undefined);
    fields.push(new Field(f.name, arrowType(go), nullable, fieldMetadata(f, go)));
    children.push(column(go, col, frame.data?.nanos?.[i] ?? undefined));
  });
  const meta = new Map<string, string>([
    ['name', frame.schema.name ?? ''],
    ['refId', frame.schema.refId ?? ''],
  ]);
  if (frame.schema.meta) meta.set('meta', JSON.stringify(frame.schema.meta));
  const schema = new Schema(fields, meta);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length, nullCount: 0, children }));
  return tableToIPC(new Table(schema, [batch]), 'file');
}
