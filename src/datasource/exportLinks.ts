import { FieldType, type DataFrame, type QueryResultMetaNotice } from '@grafana/data';
import type { Filter } from '../types';
import type { CapsightQuery } from './types';

/**
 * "Download packets" on every flow and conversation row, and "Export CSV" for a flow table: links
 * to the sidecar's export routes through the data source's proxy routes (plugin.json), so Grafana's
 * server adds the sidecar's token and the browser never holds it. A flow row names its capture and
 * flow; a conversation row and the CSV export carry the panel's range and resolved filters.
 */
export function exportBase(uid: string): string {
  return `/api/datasources/proxy/uid/${encodeURIComponent(uid)}/export`;
}

/** JSON as base64url (what the sidecar's GET export routes read from "query"). */
export function base64url(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = '';
  bytes.forEach((b) => (binary += String.fromCharCode(b)));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

interface Selection {
  from: number;
  to: number;
  filters: Filter[];
}

const hasFields = (frame: DataFrame, names: string[]): boolean => names.every((n) => frame.fields.some((f) => f.name === n));

function linkField(frame: DataFrame, title: string, url: string): DataFrame {
  return {
    ...frame,
    fields: [
      ...frame.fields,
      { name: 'packets', type: FieldType.string, values: new Array(frame.length).fill('pcap'), config: { displayName: 'Packets', links: [{ title, url }] } },
    ],
  };
}

/** The frames of one response with the export links added (frames of other kinds unchanged). */
export function withExportLinks(frames: DataFrame[], queries: Map<string, CapsightQuery>, range: { from: number; to: number }, base: string): DataFrame[] {
  return frames.map((frame) => {
    const q = frame.refId === undefined ? undefined : queries.get(frame.refId);
    if (!q) {
      return frame;
    }
    const selection: Selection = { from: range.from, to: range.to, filters: q.filters ?? [] };
    if (q.kind === 'flows' && hasFields(frame, ['capture_id', 'flow_id'])) {
      const notice: QueryResultMetaNotice = { severity: 'info', text: 'Export every flow these filters select (no row limit) as CSV', link: `${base}/flows?format=csv&query=${base64url(selection)}` };
      const linked = linkField(frame, 'Download packets (pcap)', `${base}/pcap?capture=\${__data.fields.capture_id}&flow=\${__data.fields.flow_id}`);
      return { ...linked, meta: { ...linked.meta, notices: [...(linked.meta?.notices ?? []), notice] } };
    }
    if (q.kind === 'conversations' && hasFields(frame, ['src', 'dst'])) {
      return linkField(frame, 'Download packets of this conversation (pcap)', `${base}/pcap?query=${base64url(selection)}&src=\${__data.fields.src}&dst=\${__data.fields.dst}`);
    }
    return frame;
  });
}
