import type { SidecarResponse } from './client';

/** A readable message for a sidecar answer that is not a success: the sidecar's own text where it gave one. */
export function sidecarMessage(r: SidecarResponse, address: string): string {
  let own: string | undefined;
  try {
    own = (JSON.parse(r.body.toString('utf8')) as { message?: string }).message;
  } catch {
    // not JSON: fall back to the status
  }
  if (r.status === 401) return `the sidecar at ${address} refused the API token (HTTP 401): set the sidecar's CAPSIGHT_API_TOKEN as the data source's API token`;
  if (r.status === 403) return `the sidecar at ${address} refused the request (HTTP 403)${own ? `: ${own}` : ''}`;
  return own ? own : `the sidecar at ${address} answered HTTP ${r.status}`;
}
