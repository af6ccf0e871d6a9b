import type { FetchError } from '@grafana/runtime';

/** The sidecar's own message (it names the problem), or the HTTP status when there is none. */
export function sidecarMessage(err: unknown): string {
  const e = err as FetchError<{ message?: string }>;
  if (e?.data?.message) {
    return e.data.message;
  }
  if (e?.status) {
    return `HTTP ${e.status}${e.statusText ? ` ${e.statusText}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}
