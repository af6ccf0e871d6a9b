import * as dns from 'node:dns/promises';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import type { Enricher } from '../enrich/enricher';
import { redactText, redactUrl, urlWithoutQuery } from '../security/redact';
import { ImportRefused, type UrlPolicy } from '../security/url-policy';
import type { FlowStore, JobRecord } from '../store/flow-store';
import { DownloadThreads, openThreadedDownload } from './threaded-download';
import type { JobContext, JobManager, JobOutcome } from './jobs';
import { captureFilesIn, openImportFile, resolveImportPath } from './local-files';
import { parseNetworkWatcherPath } from './network-watcher';
import { ingestCapture, type CaptureSource, type IngestOutcome } from './pipeline';
import type { PacketArchive } from '../packets/archive';

export interface ImporterConfig {
  bucketNs: number;
  idleTimeoutNs: number;
  fragments: boolean;
  importDirs: readonly string[];
  downloadParallelism: number;
  maxCaptureBytes: number;
  maxCapturePackets: number;
}

export interface IngestCounters {
  onIngested(o: IngestOutcome): void;
}

/** Turns import requests (URL, path, upload, generated demo) into ingest jobs. */
export class Importer {
  /** A download thread kept started for the next URL import. */
  private readonly downloadThreads = new DownloadThreads();

  constructor(
    private readonly store: FlowStore,
    private readonly enricher: Enricher,
    private readonly jobs: JobManager,
    private readonly policy: UrlPolicy,
    private readonly config: ImporterConfig,
    private readonly counters: IngestCounters,
    private readonly archive?: PacketArchive,
  ) {}

  /** Stops the download thread kept started (running downloads end with their jobs). */
  close(): Promise<void> {
    return this.downloadThreads.close();
  }

  /** Runs one capture through the pipeline inside a job, with progress. */
  async ingest(ctx: JobContext, src: CaptureSource, bytesBefore = 0): Promise<IngestOutcome> {
    const out = await ingestCapture({ ...src, name: shortName(src.name) }, {
      store: this.store,
      enricher: this.enricher,
      bucketNs: this.config.bucketNs,
      idleTimeoutNs: this.config.idleTimeoutNs,
      attributeFragments: this.config.fragments,
      signal: ctx.signal,
      archive: this.archive,
      limits: { maxBytes: this.config.maxCaptureBytes, maxPackets: this.config.maxCapturePackets, bytesSetting: 'CAPSIGHT_MAX_CAPTURE_BYTES', packetsSetting: 'CAPSIGHT_MAX_CAPTURE_PACKETS' },
      onProgress: (p) => ctx.progress({ bytesDone: bytesBefore + p.bytesDone, flows: p.flows }),
    });
    this.counters.onIngested(out);
    return out;
  }

  /**
   * Validates a URL now (scheme, host allow-list, resolved addresses) so a refused URL is a 400
   * answer rather than a failed job; the job checks again on every connection and redirect.
   */
  async checkUrl(raw: string): Promise<URL> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ImportRefused('"url" is not a valid URL');
    }
    const { exception } = this.policy.check(url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!net.isIP(host)) {
      let answers: { address: string }[];
      try {
        answers = await dns.lookup(host, { all: true });
      } catch {
        throw new ImportRefused(`import URL ${redactUrl(url)}: host "${host}" does not resolve`);
      }
      for (const a of answers) this.policy.checkAddress(a.address, exception, url);
    }
    return url;
  }

  importUrl(url: URL, name?: string): JobRecord {
    const shown = redactUrl(url);
    const source = urlWithoutQuery(url);
    const blobPath = url.pathname.split('/').slice(2).join('/'); // drop the container segment
    const display = name ?? redactText(safeDecode(url.pathname.split('/').filter(Boolean).pop() ?? url.hostname));
    return this.jobs.submit('url', display, shown, async (ctx) => {
      const dl = await openThreadedDownload(url.toString(), this.policy, { parallelism: this.config.downloadParallelism, signal: ctx.signal }, this.downloadThreads);
      // However the job ends, the download thread ends with it.
      try {
        ctx.progress({ bytesTotal: dl.size });
        if (dl.etag) {
          const known = await this.store.findCapture({ etagOf: { source, etag: dl.etag } });
          if (known) return { result: 'already ingested', captureId: known.id, packets: known.packets, flows: known.flows };
        }
        const nw = parseNetworkWatcherPath(blobPath) ?? parseNetworkWatcherPath(url.pathname);
        const azure = nw ? { subscription: nw.subscription, resourceGroup: nw.resourceGroup, vm: nw.vm } : null;
        const out = await this.ingest(ctx, { stream: dl.body, ownsChunks: true, pool: dl.pool, expectedBytes: dl.size, name: display, source, sourceKind: 'url', etag: dl.etag, azure });
        return outcome(out);
      } finally {
        dl.cancel();
      }
    });
  }

  /**
   * A file is opened here, once, and the job reads that open file; a directory's files are each
   * opened and checked when the job comes to them (local-files.ts).
   */
  async importPath(requested: string, name?: string): Promise<JobRecord> {
    const target = resolveImportPath(requested, this.config.importDirs);
    if (!target.isDirectory) {
      const opened = await openImportFile(target, requested);
      const display = name ?? path.basename(target.path);
      return this.jobs.submit(
        'path',
        display,
        target.path,
        async (ctx) => {
          ctx.progress({ bytesTotal: opened.size, filesTotal: 1 });
          const out = await this.ingest(ctx, { stream: { handle: opened.handle }, expectedBytes: opened.size, name: display, source: target.path, sourceKind: 'path' });
          ctx.progress({ filesDone: 1 });
          return outcome(out);
        },
        () => void opened.handle.close().catch(() => undefined),
      );
    }
    const files = captureFilesIn(target);
    if (files.length === 0) throw new ImportRefused(`path ${requested}: no capture files (pcap, pcapng or gzip) found`);
    const sizes = files.map((f) => fs.lstatSync(f).size);
    const display = name ?? `${path.basename(target.path)}/ (${files.length} files)`;
    return this.jobs.submit('path', display, target.path, async (ctx) => {
      ctx.progress({ bytesTotal: sizes.reduce((a, b) => a + b, 0), filesTotal: files.length });
      let done = 0;
      let ingested = 0;
      let last: IngestOutcome | null = null;
      let packets = 0;
      let flows = 0;
      const failures: string[] = [];
      for (const [i, file] of files.entries()) {
        const rel = path.relative(target.path, file);
        try {
          const opened = await openImportFile({ path: file, root: target.root }, rel);
          last = await this.ingest(ctx, { stream: { handle: opened.handle }, expectedBytes: opened.size, name: rel, source: file, sourceKind: 'path' }, done);
          if (last.result === 'ingested') ingested++;
          packets += last.capture.packets;
          flows += last.capture.flows;
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          failures.push(`${rel}: ${(err as Error).message}`);
        }
        done += sizes[i];
        ctx.progress({ bytesDone: done, filesDone: i + 1 });
      }
      if (ingested === 0 && failures.length === files.length) throw new Error(`no file could be imported: ${failures.slice(0, 3).join('; ')}`);
      const skipped = files.length - ingested - failures.length;
      const parts = [`${ingested} ingested`, skipped > 0 ? `${skipped} already ingested` : '', failures.length > 0 ? `${failures.length} failed (${failures.slice(0, 3).join('; ')})` : ''].filter(Boolean);
      return { result: parts.join(', '), captureId: last?.capture.id ?? null, packets, flows };
    });
  }

  /** An upload (or the demo capture) as a job like any other; the caller waits for it. */
  importStream(kind: 'upload' | 'demo', name: string, stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number | null, beforeCommit?: () => void): JobRecord {
    const source = kind === 'upload' ? `upload ${name}` : 'generated demo capture';
    return this.jobs.submit(
      kind,
      name,
      source,
      async (ctx) => {
        ctx.progress({ bytesTotal: size });
        const out = await this.ingest(ctx, { stream, expectedBytes: size, name, source, sourceKind: kind, beforeCommit });
        return outcome(out);
      },
    );
  }
}

/** Names derived from paths and blob names, kept to 200 characters (the start and the end, where the file name is). */
export function shortName(name: string): string {
  return name.length <= 200 ? name : `${name.slice(0, 60)}…${name.slice(-139)}`;
}

/** A path segment decoded for display; as it is when its %-escapes are malformed. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function outcome(out: IngestOutcome): JobOutcome {
  return { result: out.result === 'ingested' ? 'ingested' : 'already ingested', captureId: out.capture.id, packets: out.capture.packets, flows: out.capture.flows };
}

