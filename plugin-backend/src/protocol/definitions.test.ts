import * as fs from 'node:fs';
import * as protobuf from 'protobufjs';
import { BACKEND_PROTO, sdkAvailable, sdkNotice } from '../testing/plugin-host';
import { PLUGINV2_PROTO } from './definitions';

/**
 * The plugin's own message definitions (written from the field numbers) against Grafana's: every
 * message, field, enum value and method the plugin declares must exist in the Go SDK's
 * backend.proto with the same number, type, label and streaming.
 */
const run = sdkAvailable() ? describe : describe.skip;
if (!sdkAvailable()) sdkNotice('plugin protocol definitions against backend.proto');

run('pluginv2 definitions', () => {
  const ours = protobuf.parse(PLUGINV2_PROTO, { keepCase: true }).root.lookup('pluginv2') as protobuf.Namespace;
  let grafana: protobuf.Namespace;
  beforeAll(() => {
    grafana = protobuf.parse(fs.readFileSync(BACKEND_PROTO, 'utf8'), { keepCase: true }).root.lookup('pluginv2') as protobuf.Namespace;
  });

  const walk = (ns: protobuf.NamespaceBase): protobuf.ReflectionObject[] => ns.nestedArray.flatMap((o) => [o, ...(o instanceof protobuf.Namespace || o instanceof protobuf.Type ? walk(o) : [])]);

  it('declares only messages and fields Grafana has, with the same numbers and types', () => {
    const types = walk(ours).filter((o): o is protobuf.Type => o instanceof protobuf.Type);
    expect(types.length).toBeGreaterThan(15);
    for (const t of types) {
      const theirs = grafana.lookupType(t.fullName.replace(/^\.pluginv2\./, ''));
      for (const f of t.fieldsArray) {
        const g = theirs.fields[f.name];
        expect([t.name, f.name, g ? { id: g.id, type: g.type, repeated: g.repeated, map: g.map, keyType: (g as unknown as protobuf.MapField).keyType } : 'missing']).toEqual([
          t.name,
          f.name,
          { id: f.id, type: f.type, repeated: f.repeated, map: f.map, keyType: (f as unknown as protobuf.MapField).keyType },
        ]);
      }
    }
  });

  it('declares enum values and service methods as Grafana does', () => {
    for (const e of walk(ours).filter((o): o is protobuf.Enum => o instanceof protobuf.Enum)) {
      expect([e.name, grafana.lookupEnum(e.fullName.replace(/^\.pluginv2\./, '')).values]).toEqual([e.name, expect.objectContaining(e.values)]);
    }
    for (const s of walk(ours).filter((o): o is protobuf.Service => o instanceof protobuf.Service)) {
      const theirs = grafana.lookupService(s.name);
      for (const m of s.methodsArray) {
        const g = theirs.methods[m.name];
        expect([s.name, m.name, g?.requestType, g?.responseType, !!g?.responseStream, !!g?.requestStream]).toEqual([s.name, m.name, m.requestType, m.responseType, !!m.responseStream, !!m.requestStream]);
      }
    }
  });
});
