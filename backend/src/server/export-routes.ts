import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import Ajv from 'ajv';
import { EXPORT_COLUMNS } from '../store/duckdb/exports';
import { FilterSchema, QueryError, type CheckedQuery, type Query } from '../query/model';
import type { QueryRunner } from '../query/request';
import type { FlowStore } from '../store/flow-store';
import type { PacketArchive } from '../packets/archive';
import { ExportError, preparePcapExport } from '../packets/pcap-export';

/**
 * Exports: the packets of selected flows as a capture file (POST/GET /api/export/pcap) and every
 * selected flow as CSV or ndjson (POST/GET /api/export/flows). Selection = the query model's time
 * range and filters. GET forms serve links (Grafana data links through the data source proxy):
 * one flow by ?capture=&flow=, or any selection as ?query=<base64url of the JSON body>.
 */
export const ExportSelection = Type.Object(
  {
    from: Type.Optional(Type.Number({ description: 'range start, epoch ms (inclusive); packets before it are left out' })),
    to: Type.Optional(Type.Number({ description: 'range end, epoch ms (exclusive)' })),
    filters: Type.Optional(Type.Array(FilterSchema, { maxItems: 50, description: 'the query model\'s filters (capture, flow_id, ip, port, country, ...)' })),
    format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('ndjson')], { description: 'flow exports: csv (default) or ndjson' })),
  },
  { additionalProperties: false },
);
type Selection = Static<typeof ExportSelection>;
/** The same validation a request body gets (fastify's validator is Ajv too). */
const selectionValid = new Ajv({ allErrors: false }).compile<Selection>(ExportSelection);

const GetParams = Type.Object(
  {
    capture: Type.Optional(Type.String({ maxLength: 64 })),
    flow: Type.Optional(Type.String({ maxLength: 12, pattern: '^[0-9]+$' })),
    query: Type.Optional(Type.String({ maxLength: 16384, description: 'base64url of a JSON selection {from, to, filters}' })),
    format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('ndjson')])),
    src: Type.Optional(Type.String({ maxLength: 64, description: 'with "query": only flows from this initiator (a conversation row\'s link)' })),
    dst: Type.Optional(Type.String({ maxLength: 64, description: 'with "query": only flows to this responder' })),
  },
  { additionalProperties: false },
);
type GetQuery = Static<typeof GetParams>;

export interface ExportDeps {
  store: FlowStore;
  archive: PacketArchive;
  runner: QueryRunner;
}

function selectionFromGet(g: GetQuery): { selection: Selection; label: string | null } {
  if (g.query !== undefined) {
    if (g.capture !== undefined || g.flow !== undefined) throw new QueryError('give either "query" or "capture" and "flow", not both');
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(g.query, 'base64url').toString('utf8'));
    } catch {
      throw new QueryError('"query" is not base64url-encoded JSON');
    }
    if (!selectionValid(parsed)) {
      const first = selectionValid.errors?.[0];
      throw new QueryError(`"query": ${first ? `${first.instancePath || '/'} ${first.message ?? ''}` : 'not a selection'}`);
    }
    const ends = (['src', 'dst'] as const).filter((k) => g[k] !== undefined).map((k) => ({ key: k, operator: '=' as const, value: g[k] as string }));
    return { selection: { ...parsed, filters: [...(parsed.filters ?? []), ...ends], format: g.format ?? parsed.format }, label: ends.length === 2 ? `${g.src}-${g.dst}` : null };
  }
  if (g.src !== undefined || g.dst !== undefined) throw new QueryError('"src" and "dst" narrow a "query" selection; give one');
  if (g.capture === undefined || g.flow === undefined) throw new QueryError('give "capture" and "flow" (one flow), or "query" (a base64url JSON selection)');
  return {
    selection: { filters: [{ key: 'capture', operator: '=', value: g.capture }, { key: 'flow_id', operator: '=', value: Number(g.flow) }], format: g.format },
    label: `flow-${g.flow}`,
  };
}

async function checked(runner: QueryRunner, s: Selection): Promise<CheckedQuery> {
  const q: Query = { kind: 'flows', from: s.from, to: s.to, filters: s.filters };
  return runner.check(q);
}

/** Stops the work when the client goes away. */
function closedSignal(req: FastifyRequest, reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  req.raw.on('close', () => {
    if (req.raw.destroyed && !reply.raw.headersSent) gone.abort();
  });
  return gone.signal;
}

/** attachment; filename="..." with only safe characters in it (the names are made that way). */
const attachment = (name: string): string => `attachment; filename="${name}"`;

export function exportRoutes(app: FastifyInstance, deps: ExportDeps): void {
  const { store, archive, runner } = deps;

  const pcap = async (req: FastifyRequest, reply: FastifyReply, s: Selection, label: string | null): Promise<FastifyReply> => {
    if (s.format !== undefined) throw new QueryError('"format" applies to flow exports (/api/export/flows), not to packet exports');
    const q = await checked(runner, s);
    const signal = closedSignal(req, reply);
    let out;
    try {
      out = await preparePcapExport(store, archive, q, label, signal);
    } catch (err) {
      // Packets still being copied: a client (or person) asking again in a few seconds gets them.
      if (err instanceof ExportError && err.statusCode === 503) void reply.header('retry-after', '5');
      throw err;
    }
    reply.raw.once('close', () => void out.close());
    void reply
      .header('content-type', out.contentType)
      .header('content-disposition', attachment(out.fileName))
      .header('x-capsight-packets', String(out.packets))
      .header('x-capsight-flows', String(out.flows))
      .header('x-capsight-captures', out.captures.join(','))
      .header('cache-control', 'no-store');
    if (out.length !== null) void reply.header('content-length', String(out.length));
    return reply.send(Readable.from(out.body, { objectMode: false }));
  };

  const flows = async (req: FastifyRequest, reply: FastifyReply, s: Selection, label: string | null): Promise<FastifyReply> => {
    const format = s.format ?? 'csv';
    const q = await checked(runner, s);
    const signal = closedSignal(req, reply);
    const pages = store.exportFlowPages(q, format, signal);
    // The first page is made before answering, so a failing selection is an error status, not a cut-off file.
    const first = await pages.next();
    async function* body(): AsyncGenerator<Uint8Array> {
      if (format === 'csv') yield Buffer.from(`${EXPORT_COLUMNS.map(([n]) => n).join(',')}\n`);
      let page = first;
      while (!page.done) {
        const file = page.value;
        try {
          for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
        } finally {
          fs.rmSync(file, { force: true });
        }
        if (signal.aborted) break;
        page = await pages.next();
      }
    }
    const stream = Readable.from(body(), { objectMode: false });
    stream.once('close', () => void pages.return(undefined).catch(() => undefined));
    const name = `capsight-${label ?? 'flows'}.${format === 'csv' ? 'csv' : 'ndjson'}`;
    void reply
      .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
      .header('content-disposition', attachment(name))
      .header('cache-control', 'no-store');
    return reply.send(stream);
  };

  app.post('/api/export/pcap', { schema: { summary: 'The packets of the selected flows as a capture file (pcap, or pcapng when the source was or several captures are selected)', body: ExportSelection } }, async (req, reply) =>
    pcap(req, reply, req.body as Selection, null),
  );
  app.get('/api/export/pcap', { schema: { summary: 'Packet export for links: ?capture=&flow= (one flow) or ?query=<base64url JSON selection>', querystring: GetParams } }, async (req, reply) => {
    const { selection, label } = selectionFromGet(req.query as GetQuery);
    return pcap(req, reply, selection, label);
  });
  app.post('/api/export/flows', { schema: { summary: 'Every selected flow as CSV or ndjson (the CLI\'s field names), no row limit', body: ExportSelection } }, async (req, reply) =>
    flows(req, reply, req.body as Selection, null),
  );
  app.get('/api/export/flows', { schema: { summary: 'Flow export for links: ?query=<base64url JSON selection>&format=csv|ndjson', querystring: GetParams } }, async (req, reply) => {
    const { selection, label } = selectionFromGet(req.query as GetQuery);
    return flows(req, reply, selection, label);
  });
}

export { ExportError };
