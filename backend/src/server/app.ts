import { STATUS_CODES } from 'node:http';
import * as os from 'node:os';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type } from '@sinclair/typebox';
import { Enricher, bundledEnrichment, type EnrichmentConfig } from '../enrich/enricher';
import { demoCapture } from '../ingest/demo';
import { Importer } from '../ingest/importer';
import { JobManager } from '../ingest/jobs';
import { Readable } from 'node:stream';
import { heavySlotsFor, QueryAdmission } from '../query/admission';
import { frameToArrow } from '../query/arrow';
import { QueryError, QueryRequestSchema, type Query } from '../query/model';
import { queryErrorStatus, QueryRunner } from '../query/request';
import { jsonChunks } from './json-chunks';
import { redactText, redactUrl } from '../security/redact';
import { ImportRefused, UrlPolicy } from '../security/url-policy';
import type { FlowStore } from '../store/flow-store';
import { DuckDbStore, READ_CONNECTIONS } from '../store/duckdb/duckdb-store';
import { bearerMatches } from './auth';
import { answeredNames, browserRefusal } from './browser-guard';
import type { ServerConfig } from './config';
import { Metrics } from './metrics';
import { captureView } from './views';
import { WatchManager } from '../ingest/watch';
import { PacketArchive } from '../packets/archive';
import { exportRoutes } from './export-routes';
import { VERSION } from '../version';

export interface Sidecar {
  app: FastifyInstance;
  store: FlowStore;
  archive: PacketArchive;
  jobs: JobManager;
  watches: WatchManager;
  /** Resolves when the demo capture (if any) is stored. */
  demoReady: Promise<void>;
  close(): Promise<void>;
}

/** The bundled geo data's licences (CC BY 4.0) ask for this attribution wherever results are shown. */
export const GEO_ATTRIBUTION = 'Country data: NRO (nro.net) via ip-location-db; ASN data: Route Views (routeviews.org) and DB-IP (db-ip.com), CC BY 4.0';

/** Longest capture name (path, URL and upload imports alike). */
const MAX_NAME = 200;

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function enrichmentConfig(c: ServerConfig): EnrichmentConfig {
  const base = bundledEnrichment(c.localNetworks);
  return {
    countryDb: c.countryDb ?? base.countryDb,
    asnDb: c.asnDb,
    asnCsvDir: c.asnCsvDir === 'off' ? null : (c.asnCsvDir ?? base.asnCsvDir),
    localNetworks: c.localNetworks,
  };
}

/** Builds the sidecar: store, enrichment, jobs, watches and the HTTP API. Call listen() on `app`. */
export async function createSidecar(config: ServerConfig, logger: FastifyServerOptions['logger'] = { level: config.logLevel }): Promise<Sidecar> {
  const app = Fastify({
    logger: logger === false ? false : {
      ...(typeof logger === 'object' ? logger : {}),
      // Request URLs are logged without query secrets; bodies and headers are never logged.
      serializers: {
        req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, url: redactUrl(`http://x${req.url}`).replace(/^http:\/\/x/, ''), remoteAddress: req.ip }),
      },
    },
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  const store = await DuckDbStore.open(config.dataDir, config.storeMemory);
  const enricher = await Enricher.load(enrichmentConfig(config));
  const metrics = new Metrics();
  const archive = new PacketArchive({ dataDir: config.dataDir, enabled: config.keepPackets, maxBytes: config.packetsMaxBytes, maxAgeMs: config.packetsMaxAgeNs / 1e6 });
  // Copies past their age go within the hour even when nothing is imported.
  const ageCheck = setInterval(() => archive.enforce(), 3600_000);
  ageCheck.unref();
  const jobs = new JobManager(store, config.concurrency, app.log);
  await jobs.recover();
  const policy = new UrlPolicy({ allowHosts: config.allowHosts, importAllow: config.importAllow });
  const importer = new Importer(store, enricher, jobs, policy, config, {
    onIngested: (o) => {
      metrics.captures.inc({ result: o.result });
      if (o.result === 'ingested') {
        metrics.ingestBytes.inc(o.capture.size);
        metrics.ingestPackets.inc(o.capture.packets);
        metrics.ingestFlows.inc(o.capture.flows);
      }
    },
  }, archive);
  const watches = new WatchManager(store, importer, jobs, policy, config, app.log);
  // Queries take all read connections but one (left to the API's own reads), heavy ones fewer.
  const slots = READ_CONNECTIONS - 1;
  const admission = new QueryAdmission({ slots, heavySlots: heavySlotsFor(slots, os.availableParallelism()), maxWaitingPerClient: 32 });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Capsight sidecar', version: VERSION, description: 'Packet captures in, flows out: imports, jobs, captures and the query API the Grafana data source calls.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: config.apiToken ? [{ bearer: [] }] : [],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(multipart, { limits: { fileSize: config.maxUploadBytes, files: 1, fields: 5 } });

  // Stopping closes idle keep-alive connections at once; a download still under way keeps its
  // connection, which after the download would otherwise stay open for the whole keep-alive timeout
  // (72 s) and hold up the stop. Once stopping, a finished response ends its connection.
  let stopping = false;
  app.addHook('preClose', async () => {
    stopping = true;
  });
  app.addHook('onResponse', async (req) => {
    if (stopping) req.raw.socket?.end();
  });

  const names = answeredNames(config.host, config.hostNames);
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/health' || req.url.startsWith('/health?')) return;
    if (!config.apiToken) {
      const refusal = browserRefusal(req, names);
      if (refusal) await reply.code(refusal.status).send({ statusCode: refusal.status, error: STATUS_CODES[refusal.status], message: refusal.message });
      return;
    }
    if (!bearerMatches(req.headers.authorization, config.apiToken)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ statusCode: 401, error: 'Unauthorized', message: 'missing or wrong API token (Authorization: Bearer <token>)' });
    }
  });

  const tooLarge = `upload larger than the limit of ${config.maxUploadBytes} bytes (CAPSIGHT_MAX_UPLOAD_BYTES)`;
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown; code?: string }, req, reply) => {
    let status = err.statusCode ?? 500;
    let message = err.message;
    if (err instanceof QueryError || err instanceof ImportRefused) status = 400;
    // The query's own failures (429 too many waiting, 503 time limit) say what happened.
    const explained = status < 500 || queryErrorStatus(err) !== null;
    if (err.code === 'FST_REQ_FILE_TOO_LARGE' || err.code === 'FST_FILES_LIMIT') {
      status = 413;
      message = tooLarge;
    }
    if (err.validation) message = `invalid request: ${err.message}`;
    if (status >= 500) req.log.error({ err: redactText(String(err.stack ?? err)) }, 'request failed');
    void reply.code(status).send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: redactText(explained ? message : 'internal error (see the sidecar log)') });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });

  // From memory only: a liveness probe is answered at once, whatever queries and imports are doing.
  app.get('/health', { schema: { summary: 'Liveness, version and what is stored', security: [] } }, async () => {
    const c = store.summary();
    return { status: 'ok', version: VERSION, captures: c.captures, flows: c.flows, jobs: jobs.counts(), attribution: GEO_ATTRIBUTION };
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', hide: false } }, async (_req, reply) => {
    const q = admission.stats();
    metrics.queries.set({ state: 'running' }, q.running);
    metrics.queries.set({ state: 'running_heavy' }, q.runningHeavy);
    metrics.queries.set({ state: 'waiting' }, q.waiting);
    metrics.jobs.reset();
    for (const [state, n] of Object.entries(jobs.counts())) metrics.jobs.set({ state }, n);
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const ImportBody = Type.Union([
    Type.Object({ url: Type.String({ minLength: 1, maxLength: 8192, description: 'https URL, e.g. a blob URL with SAS token' }), name: Type.Optional(Type.String({ maxLength: MAX_NAME })) }, { additionalProperties: false }),
    Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096, description: 'file or directory inside an import directory' }), name: Type.Optional(Type.String({ maxLength: MAX_NAME })) }, { additionalProperties: false }),
  ]);
  app.post('/api/imports', { schema: { summary: 'Import a capture by URL or server path (async job)', body: ImportBody } }, async (req, reply) => {
    const body = req.body as { url?: string; path?: string; name?: string };
    const job = body.url !== undefined ? importer.importUrl(await importer.checkUrl(body.url), body.name) : await importer.importPath(body.path as string, body.name);
    return reply.code(202).send(job);
  });

  app.post('/api/imports/upload', { schema: { summary: 'Upload a capture (multipart/form-data, field "file"); answers when it is stored', consumes: ['multipart/form-data'] } }, async (req, reply) => {
    if (!req.isMultipart()) throw new HttpError(400, 'expected multipart/form-data with a "file" field');
    let part: Awaited<ReturnType<typeof req.file>>;
    try {
      part = await req.file();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 413) throw err;
      throw new HttpError(400, `malformed multipart/form-data body: ${(err as Error).message} (a multipart Content-Type needs a boundary)`);
    }
    if (!part) throw new HttpError(400, 'no file in the upload (multipart field "file")');
    if (part.filename.length > MAX_NAME) {
      part.file.resume();
      throw new HttpError(400, `the uploaded file's name is ${part.filename.length} characters long; at most ${MAX_NAME} are allowed (rename the file)`);
    }
    const length = Number(req.headers['content-length']);
    const job = importer.importStream('upload', part.filename || 'upload', part.file, Number.isFinite(length) ? length : null, () => {
      if (part.file.truncated) throw new HttpError(413, tooLarge);
    });
    const done = await jobs.wait(job.id);
    if (part.file.truncated) throw new HttpError(413, tooLarge);
    const view = await jobs.get(job.id);
    return reply.code(done?.state === 'done' ? 201 : 422).send(view);
  });

  app.get('/api/jobs', { schema: { summary: 'Recent ingest jobs, newest first' } }, async () => jobs.list(200));
  app.get('/api/jobs/:id', { schema: { summary: 'One job with progress, rate and ETA', params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } }, async (req) => {
    const j = await jobs.get((req.params as { id: string }).id);
    if (!j) throw new HttpError(404, `no job ${(req.params as { id: string }).id}`);
    return j;
  });
  app.delete('/api/jobs/:id', { schema: { summary: 'Cancel a queued or running job', params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } }, async (req) => {
    const id = (req.params as { id: string }).id;
    const j = await jobs.get(id);
    if (!j) throw new HttpError(404, `no job ${id}`);
    if (!jobs.cancel(id)) throw new HttpError(409, `job ${id} has already finished (${j.state})`);
    return { id, cancelled: true };
  });

  app.get('/api/captures', { schema: { summary: 'Stored captures (with whether their packets can be exported, until when, or why not)' } }, async () =>
    (await store.listCaptures()).map((c) => captureView(c, archive.availability(c.sha256))),
  );
  app.get('/api/captures/:id', { schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } }, async (req) => {
    const c = await store.findCapture({ id: (req.params as { id: string }).id });
    if (!c) throw new HttpError(404, `no capture ${(req.params as { id: string }).id}`);
    return captureView(c, archive.availability(c.sha256));
  });
  app.delete('/api/captures/:id', { schema: { summary: 'Delete a capture, all its flows and its kept packets', params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } }, async (req) => {
    const id = (req.params as { id: string }).id;
    const c = await store.findCapture({ id });
    if (!c || !(await store.deleteCapture(id))) throw new HttpError(404, `no capture ${id}`);
    archive.remove(c.sha256);
    return { id, deleted: true };
  });

  watches.routes(app);

  const runner = new QueryRunner({
    store,
    admission,
    // Answers in flight, over all requests: four requests' worth (about 200 MB of heap at most).
    limits: { maxQueryValues: config.maxQueryValues, maxResponseValues: config.maxResponseValues, maxFilterValues: config.maxFilterValues, maxInFlightValues: 4 * config.maxResponseValues },
    bucketMs: config.bucketNs / 1e6,
    timeoutMs: config.queryTimeoutNs / 1e6,
    onAnswered: (kind, seconds) => metrics.queryLatency.observe({ kind }, seconds),
  });
  exportRoutes(app, { store, archive, runner });

  app.post('/api/query', { schema: { summary: 'Run one query or {"queries": [...]}; answers Grafana data frames', body: QueryRequestSchema } }, async (req, reply) => {
    const body = req.body as Query | { queries: Query[]; format?: 'json' | 'arrow' };
    const many = 'queries' in body;
    const list = many ? body.queries : [body];
    // A client gone (closed connection, cancelled panel) stops its queries in the store.
    const gone = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    // Turns are taken per client: Grafana's backend names its user; others count by address.
    const client = String(req.headers['x-capsight-client'] ?? req.ip).slice(0, 128);
    const { results, release } = await runner.run(list, client, gone.signal, many);
    reply.raw.once('close', release);
    // Arrow: each frame as an Arrow IPC file (what Grafana's server reads from the backend plugin), base64 in the JSON answer.
    if (many && body.format === 'arrow') for (const r of results.values()) r.frames = r.frames.map((f) => Buffer.from(frameToArrow(f)).toString('base64')) as never[];
    const failed = [...results.values()].some((r) => r.status !== 200);
    // (One bad query of a list fails alone, as Grafana's /api/ds/query does: HTTP 207.)
    return reply.code(failed ? 207 : 200).type('application/json; charset=utf-8').send(Readable.from(jsonChunks(results)));
  });

  let demoReady: Promise<void> = Promise.resolve();
  if (config.demo) {
    demoReady = (async () => {
      if (store.summary().captures > 0) return;
      const demo = demoCapture();
      const job = importer.importStream('demo', demo.name, [demo.data], demo.data.length);
      await jobs.wait(job.id);
    })().catch((err: unknown) => app.log.error({ err: String(err) }, 'demo capture failed'));
  }
  await watches.start();

  return {
    app,
    store,
    archive,
    jobs,
    watches,
    demoReady,
    async close() {
      clearInterval(ageCheck);
      watches.stop();
      await app.close();
      await jobs.shutdown();
      await importer.close();
      policy.close();
      await store.close();
    },
  };
}
