import * as dns from 'node:dns/promises';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import type { Enricher } from '../enrich/enricher';
import { redactUrl, urlWithoutQuery } from '../security/redact';
import { ImportRefused, type UrlPolicy } from '../security/url-policy';
import type { FlowStore, JobRecord } from '../store/flow-store';
import { BufferPool } from './buffer-pool';
import { DEFAULT_SEGMENT, openDownload } from './http-download';
import type { JobContext, JobManager, JobOutcome } from './jobs';
import { captureFiles, resolveImportPath } from './local-files';
import { parseNetworkWatcherPath } from './network-watcher';
import { ingestCapture, type CaptureSource, type IngestOutcome } from './pipeline';

export interface ImporterConfig {
  bucketNs: number;
  idleTimeoutNs: number;
  fragments: boolean;
  importDirs: readonly string[];
  downloadParallelism: number;
}

export interface IngestCounters {
  onIngested(o: IngestOutcome): void;
}

/** Turns import requests (URL, path, upload, generated demo) into ingest jobs. */
export class Importer {
  constructor(
    private readonly store: FlowStore,
    private readonly enricher: Enricher,
    private readonly jobs: JobManager,
    private readonly policy: UrlPolicy,
    private readonly config: ImporterConfig,
    private readonly counters: IngestCounters,
  ) {}

  /** Runs one capture through the pipeline inside a job, with progress. */
  async ingest(ctx: JobContext, src: CaptureSource, bytesBefore = 0): Promise<IngestOutcome> {
    const out = await ingestCapture(src, {
      store: this.store,
      enricher: this.enricher,
      bucketNs: this.config.bucketNs,
      idleTimeoutNs: this.config.idleTimeoutNs,
      attributeFragments: this.config.fragments,
      signal: ctx.signal,
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
    const display = name ?? decodeURIComponent(url.pathname.split('/').filter(Boolean).pop() ?? url.hostname);
    return this.jobs.submit('url', display, shown, async (ctx) => {
      const pool = new BufferPool(DEFAULT_SEGMENT);
      const dl = await openDownload(url.toString(), this.policy, { parallelism: this.config.downloadParallelism, signal: ctx.signal, pool });
      ctx.progress({ bytesTotal: dl.size });
      if (dl.etag) {
        const known = await this.store.findCapture({ etagOf: { source, etag: dl.etag } });
        if (known) {
          dl.cancel();
          return { result: 'already ingested', captureId: known.id, packets: known.packets, flows: known.flows };
        }
      }
      const nw = parseNetworkWatcherPath(blobPath) ?? parseNetworkWatcherPath(url.pathname);
      const out = await this.ingest(ctx, { stream: dl.body, ownsChunks: true, pool, name: display, source, sourceKind: 'url', etag: dl.etag, azure: nw ? { subscription: nw.subscription, resourceGroup: nw.resourceGroup, vm: nw.vm } : null });
      return outcome(out);
    });
  }

  importPath(requested: string, name?: string): JobRecord {
    const resolved = resolveImportPath(requested, this.config.importDirs);
    const files = captureFiles(resolved);
    if (files.length === 0) throw new ImportRefused(`path ${requested}: no capture files (pcap, pcapng or gzip) found`);
    const sizes = files.map((f) => fs.statSync(f).size);
    const display = name ?? (files.length === 1 ? path.basename(files[0]) : `${path.basename(resolved)}/ (${files.length} files)`);
    return this.jobs.submit('path', display, resolved, async (ctx) => {
      ctx.progress({ bytesTotal: sizes.reduce((a, b) => a + b, 0), filesTotal: files.length });
      let done = 0;
      let ingested = 0;
      let last: IngestOutcome | null = null;
      let packets = 0;
      let flows = 0;
      const failures: string[] = [];
      for (const [i, file] of files.entries()) {
        try {
          last = await this.ingest(ctx, { stream: { file }, name: files.length === 1 ? display : path.relative(resolved, file), source: file, sourceKind: 'path' }, done);
          if (last.result === 'ingested') ingested++;
          packets += last.capture.packets;
          flows += last.capture.flows;
        } catch (err) {
          if (ctx.signal.aborted || files.length === 1) throw err;
          failures.push(`${path.relative(resolved, file)}: ${(err as Error).message}`);
        }
        done += sizes[i];
        ctx.progress({ bytesDone: done, filesDone: i + 1 });
      }
      if (files.length === 1 && last) return outcome(last);
      if (ingested === 0 && failures.length === files.length) throw new Error(`no file could be imported: ${failures.slice(0, 3).join('; ')}`);
      const skipped = files.length - ingested - failures.length;
      const parts = [`${ingested} ingested`, skipped > 0 ? `${skipped} already ingested` : '', failures.length > 0 ? `${failures.length} failed (${failures.slice(0, 3).join('; ')})` : ''].filter(Boolean);
      return { result: parts.join(', '), captureId: last?.capture.id ?? null, packets, flows };
    });
  }

  /** An upload runs at once (its client is sending now) and finishes with the request. */
  importStream(kind: 'upload' | 'demo', name: string, stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number | null, beforeCommit?: () => void): JobRecord {
    const source = kind === 'upload' ? `upload ${name}` : 'generated demo capture';
    return this.jobs.submit(
      kind,
      name,
      source,
      async (ctx) => {
        ctx.progress({ bytesTotal: size });
        const out = await this.ingest(ctx, { stream, name, source, sourceKind: kind, beforeCommit });
        return outcome(out);
      },
      true,
    );
  }
}

function outcome(out: IngestOutcome): JobOutcome {
  return { result: out.result === 'ingested' ? 'ingested' : 'already ingested', captureId: out.capture.id, packets: out.capture.packets, flows: out.capture.flows };
}

