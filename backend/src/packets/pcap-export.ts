import type { CheckedQuery } from '../query/model';
import type { CaptureInfo, FlowStore } from '../store/flow-store';
import { PacketsUnavailable, type KeptCapture, type PacketArchive } from './archive';
import { openByteSource, type ByteSource } from './byte-source';
import { planSlice, sliceNative, slicePcapngSection, type SliceInput } from './slice';

/** A slice ready to stream: what it holds, its name and (when it can be known before) its size. */
export interface PcapExport {
  fileName: string;
  contentType: string;
  /** Exact size in bytes when known in advance (a pcap, or a pcapng from one capture with known headers), else null. */
  length: number | null;
  packets: number;
  flows: number;
  captures: string[];
  body: AsyncGenerator<Uint8Array>;
  /** Closes the files (also done when the body ends or is stopped; safe to call twice). */
  close(): Promise<void>;
}

export class ExportError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** File-name safe: letters, digits, dot, dash; the rest becomes "_" (no name, URL or secret goes in). */
const safe = (s: string): string => s.replace(/[^A-Za-z0-9.-]+/g, '_').slice(0, 80);

/**
 * Selects the flows of a query and opens every capture holding them for slicing. A capture whose
 * packets are not available fails the export with the reason and the way out.
 * `label`: what the file holds, for its name ("flow-12", "3-flows").
 */
export async function preparePcapExport(store: FlowStore, archive: PacketArchive, q: CheckedQuery, label: string | null, signal?: AbortSignal): Promise<PcapExport> {
  const selected = await store.selectedFlows(q, signal);
  if (selected.size === 0) throw new ExportError(404, 'no flow matches the time range and filters: there are no packets to export');
  const byId = new Map((await store.listCaptures()).map((c) => [c.id, c]));
  const captures = [...selected.keys()].map((id) => byId.get(id)).filter((c): c is CaptureInfo => c !== undefined);
  captures.sort((a, b) => (a.firstNs ?? 0n) < (b.firstNs ?? 0n) ? -1 : 1);
  const opened: { capture: CaptureInfo; kept: KeptCapture; source: ByteSource }[] = [];
  let closed = false;
  const closeAll = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.all(opened.map(async (o) => Promise.all([o.kept.index.close(), o.source.close()])));
  };
  try {
    for (const capture of captures) {
      let kept: KeptCapture;
      try {
        kept = await archive.open(capture.sha256, capture.flows);
      } catch (err) {
        if (!(err instanceof PacketsUnavailable)) throw err;
        if (err.soon) throw new ExportError(503, `capture ${capture.id} (${capture.name}): its packets are ${err.message}`);
        throw new ExportError(410, `capture ${capture.id} (${capture.name}): its packets are not available: ${err.message}. Its flows stay queryable; import the capture again to slice its packets${captures.length > 1 ? ', or leave it out with a "capture" filter' : ''}`);
      }
      const source = await openByteSource(kept.dataPath, kept.index.meta.compressed);
      opened.push({ capture, kept, source });
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  const inputs: SliceInput[] = opened.map(({ capture, kept, source }) => {
    const flows = new Uint8Array(kept.index.meta.flows);
    for (const id of selected.get(capture.id) as Uint32Array) if (id < flows.length) flows[id] = 1;
    return { captureId: capture.id, source, index: kept.index, flows, fromMs: Math.floor(q.from), toMs: Math.ceil(q.to), captureBytes: kept.index.meta.compressed ? null : kept.dataBytes };
  });
  let packets = 0;
  let recordBytes = 0;
  for (const input of inputs) {
    const plan = await planSlice(input);
    packets += plan.packets;
    recordBytes += plan.recordBytes;
  }
  const flowCount = [...selected.values()].reduce((t, ids) => t + ids.length, 0);
  const single = inputs.length === 1;
  const pcap = single && inputs[0].index.meta.format === 'pcap';
  const ids = captures.map((c) => c.id);
  const what = safe(label ?? `${flowCount}-flows`);
  const fileName = `capsight-${single ? ids[0] : `${ids[0]}-and-${ids.length - 1}-more`}-${what}.${pcap ? 'pcap' : 'pcapng'}`;

  async function* body(): AsyncGenerator<Uint8Array> {
    try {
      for (const input of inputs) {
        if (signal?.aborted) return;
        yield* single ? sliceNative(input, signal) : slicePcapngSection(input, signal);
      }
    } finally {
      await closeAll();
    }
  }
  return {
    fileName,
    contentType: pcap ? 'application/vnd.tcpdump.pcap' : 'application/x-pcapng',
    length: pcap ? 24 + recordBytes : null,
    packets,
    flows: flowCount,
    captures: ids,
    body: body(),
    close: closeAll,
  };
}
