import React, { useEffect, useState } from 'react';
import { getBackendSrv } from '@grafana/runtime';
import { Alert, LoadingPlaceholder } from '@grafana/ui';
import { lastValueFrom } from 'rxjs';
import { DATASOURCE_UID } from '../types';

interface Capture {
  id: string;
  name: string;
  first: string | null;
  last: string | null;
  size: number;
  packets: number;
  flows: number;
  azure: { vm: string } | null;
}

/** The Captures page: what the sidecar holds (imports and progress come next). */
export function Captures() {
  const [captures, setCaptures] = useState<Capture[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    lastValueFrom(getBackendSrv().fetch<Capture[]>({ url: `/api/datasources/proxy/uid/${DATASOURCE_UID}/sidecar/api/captures`, showErrorAlert: false }))
      .then((r) => setCaptures(r.data))
      .catch((e: { data?: { message?: string }; status?: number; message?: string }) => setError(e.data?.message ?? (e.status ? `HTTP ${e.status}` : String(e.message ?? e))));
  }, []);
  if (error) {
    return <Alert title="The Capsight sidecar did not answer">{error}</Alert>;
  }
  if (!captures) {
    return <LoadingPlaceholder text="Loading captures" />;
  }
  return (
    <table className="filter-table" data-testid="capsight-captures">
      <thead>
        <tr>
          <th>Name</th>
          <th>VM</th>
          <th>First packet</th>
          <th>Last packet</th>
          <th>Size</th>
          <th>Packets</th>
          <th>Flows</th>
        </tr>
      </thead>
      <tbody>
        {captures.map((c) => (
          <tr key={c.id}>
            <td>{c.name}</td>
            <td>{c.azure?.vm ?? ''}</td>
            <td>{c.first ?? ''}</td>
            <td>{c.last ?? ''}</td>
            <td>{c.size}</td>
            <td>{c.packets}</td>
            <td>{c.flows}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
