import { isoFromNs } from '../model/time';
import type { CaptureInfo } from '../store/flow-store';
import type { PacketAvailability } from '../packets/archive';

const iso = (ns: bigint | null): string | null => (ns === null ? null : isoFromNs(ns));

/**
 * A capture as the API answers it: JSON-safe times (ISO with ns, and epoch ms), no secrets, and
 * whether its packets can be exported ("packets available until ...", or why not).
 */
export function captureView(c: CaptureInfo, kept?: PacketAvailability): Record<string, unknown> {
  return {
    id: c.id,
    name: c.name,
    source: c.source,
    sourceKind: c.sourceKind,
    etag: c.etag,
    size: c.size,
    sha256: c.sha256,
    format: c.format,
    compressed: c.compressed,
    first: iso(c.firstNs),
    last: iso(c.lastNs),
    firstMs: c.firstNs === null ? null : Number(c.firstNs / 1_000_000n),
    lastMs: c.lastNs === null ? null : Number(c.lastNs / 1_000_000n),
    packets: c.packets,
    bytes: c.bytes,
    flows: c.flows,
    linkTypes: c.linkTypes,
    problems: c.problems,
    damage: c.damage,
    azure: c.azure,
    ingestedAt: c.ingestedAt,
    packetsKept: kept === undefined ? undefined : kept.available ? { available: true, keptAt: kept.keptAt, availableUntil: kept.until, bytes: kept.bytes } : { available: false, reason: kept.reason },
  };
}
