import { getBackendSrv } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';
import { DATASOURCE_UID } from '../types';

/**
 * The sidecar's API as the Captures page reaches it: through the provisioned data source's backend
 * (Grafana's resource calls: the backend adds the token and lets only the page's routes pass).
 */
export const RESOURCES = `/api/datasources/uid/${DATASOURCE_UID}/resources`;

/**
 * Uploads stream through the data source proxy's "upload" route instead (plugin.json: POST only,
 * Editors, the token added by Grafana): a resource call's body is one gRPC message, far too small
 * for a multi-GB capture.
 */
export const UPLOAD_URL = `/api/datasources/proxy/uid/${DATASOURCE_UID}/upload`;

export interface Job {
  id: string;
  kind: string;
  name: string;
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  bytesDone: number;
  bytesTotal: number | null;
  bytesPerSec: number | null;
  etaSec: number | null;
  packets: number;
  flows: number;
  error: string | null;
  result: string | null;
  captureId: string | null;
}

export interface Capture {
  id: string;
  name: string;
  first: string | null;
  last: string | null;
  firstMs: number | null;
  lastMs: number | null;
  size: number;
  packets: number;
  flows: number;
  azure: { vm: string; resourceGroup: string } | null;
}

/** Queued or running: the job may still change. */
export function isActive(job: Job): boolean {
  return job.state === 'queued' || job.state === 'running';
}

/** One sidecar route through the backend's resources, e.g. call('GET', '/api/captures'). */
export async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, data?: unknown): Promise<T> {
  const r = await lastValueFrom(getBackendSrv().fetch<T>({ url: `${RESOURCES}${path}`, method, data, showErrorAlert: false, showSuccessAlert: false }));
  return r.data;
}
