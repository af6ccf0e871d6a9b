import type { CaptureInfo, FlowStore } from '../store/flow-store';
import type { FrameNotice } from './frames';
import type { CheckedQuery } from './model';

/**
 * "Where is my data?": a panel whose time range holds none of the selected captures' traffic
 * says so, and links to their span, instead of showing a blank (dashboards open on the last few
 * hours; a capture from last month is elsewhere). The link is relative: the same dashboard, its
 * range set to the captures' span (and the capture variable to them when the query picked them).
 */
const SKIP = new Set(['captures', 'keys', 'values']);

function selectedIds(q: CheckedQuery): Set<string> | null {
  let ids: string[] | null = null;
  for (const f of q.filters) {
    if (f.key !== 'capture' || (f.operator !== '=' && f.operator !== 'in')) continue;
    const these = (Array.isArray(f.value) ? f.value : [f.value]).map(String);
    ids = ids === null ? these : ids.filter((x) => these.includes(x));
  }
  return ids === null ? null : new Set(ids);
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace('T', ' ');

export async function outsideRangeNotice(store: FlowStore, q: CheckedQuery): Promise<FrameNotice | null> {
  if (SKIP.has(q.kind)) return null;
  const ids = selectedIds(q);
  const all = await store.listCaptures();
  if (all.length === 0) return { severity: 'info', text: 'no captures stored yet: import one on the Captures page', link: '/a/capsight-app/captures' };
  const chosen = all.filter((c: CaptureInfo) => (ids === null || ids.has(c.id)) && c.firstNs !== null && c.lastNs !== null);
  if (chosen.length === 0) return null;
  const spans = chosen.map((c) => [Number((c.firstNs as bigint) / 1_000_000n), Number((c.lastNs as bigint) / 1_000_000n) + 1] as const);
  if (spans.some(([first, last]) => first < q.to && last > q.from)) return null;
  const from = Math.min(...spans.map(([f]) => f));
  const to = Math.max(...spans.map(([, l]) => l));
  const which = ids === null ? 'no capture has' : chosen.length === 1 ? `capture ${chosen[0].name} has no` : 'none of the selected captures has';
  const vars = ids === null ? '' : chosen.map((c) => `&var-capture=${encodeURIComponent(c.id)}`).join('');
  return { severity: 'info', text: `${which} traffic in this time range: ${ids === null ? 'the captures hold' : 'it is'} traffic from ${iso(from)} to ${iso(to)} UTC (the link shows that range)`, link: `?from=${from}&to=${to}${vars}` };
}
