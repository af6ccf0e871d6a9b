import { getBackendSrv } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';
import { DATASOURCE_UID } from '../types';

/** The sidecar's API through the provisioned data source's proxy route (which adds the token). */
export const SIDECAR = `/api/datasources/proxy/uid/${DATASOURCE_UID}/sidecar`;

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

export async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, data?: unknown): Promise<T> {
  const r = await lastValueFrom(getBackendSrv().fetch<T>({ url: `${SIDECAR}${path}`, method, data, showErrorAlert: false, showSuccessAlert: false }));
  return r.data;
}
