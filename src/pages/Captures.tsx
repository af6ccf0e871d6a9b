import React, { useCallback, useEffect, useState } from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { Alert, Button, ConfirmButton, Field, Input, LinkButton, LoadingPlaceholder, useStyles2 } from '@grafana/ui';
import { JobProgress } from './JobProgress';
import { call, isActive, UPLOAD_URL, type Capture, type Job } from './sidecar';
import { overviewUrl } from '../links';
import { formatBytes } from '../formatBytes';
import { sidecarMessage } from '../sidecarMessage';

/**
 * The Captures page: import by URL (a blob URL with SAS token: Network Watcher's workflow), upload,
 * container watch, each with live progress; the list of captures with delete.
 */
export function Captures() {
  const styles = useStyles2(getStyles);
  const [captures, setCaptures] = useState<Capture[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [jobs, setJobs] = useState<Job[]>([]);
  const [url, setUrl] = useState('');
  const [container, setContainer] = useState('');
  const [prefix, setPrefix] = useState('');
  const [actionError, setActionError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [upload, setUpload] = useState<{ name: string; sent: number; total: number } | null>(null);

  const refresh = useCallback(() => {
    call<Capture[]>('GET', '/api/captures')
      .then((c) => {
        setCaptures(c);
        setListError(null);
      })
      .catch((e) => setListError(sidecarMessage(e)));
  }, []);
  useEffect(refresh, [refresh]);
  const addJob = (job: Job) => setJobs((j) => (j.some((x) => x.id === job.id) ? j : [job, ...j]));

  // Jobs started elsewhere (container watches, other users, the API) appear with their progress too.
  useEffect(() => {
    const poll = () =>
      call<Job[]>('GET', '/api/jobs')
        .then((all) => {
          const active = all.filter(isActive);
          setJobs((mine) => [...mine, ...active.filter((j) => !mine.some((m) => m.id === j.id))]);
        })
        .catch(() => undefined);
    poll();
    const timer = setInterval(poll, 2000);
    return () => clearInterval(timer);
  }, []);

  const importUrl = async () => {
    setActionError(null);
    try {
      addJob(await call<Job>('POST', '/api/imports', { url: url.trim() }));
      setUrl('');
    } catch (e) {
      setActionError(sidecarMessage(e));
    }
  };

  const addWatch = async () => {
    setActionError(null);
    try {
      const w = await call<{ container: string }>('POST', '/api/watches', { containerUrl: container.trim(), prefix: prefix.trim() || undefined });
      setNote(`Watching ${w.container}: new capture blobs are imported as they appear.`);
      setContainer('');
    } catch (e) {
      setActionError(sidecarMessage(e));
    }
  };

  // XMLHttpRequest for its upload progress events (fetch has none); same origin, Grafana's session.
  const uploadFile = (file: File) => {
    setActionError(null);
    const form = new FormData();
    form.append('file', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', UPLOAD_URL);
    xhr.upload.onprogress = (e) => setUpload({ name: file.name, sent: e.loaded, total: e.total });
    xhr.onload = () => {
      setUpload(null);
      let body: { message?: string; error?: string; id?: string } = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: reported by status below
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        addJob(body as Job);
        refresh();
      } else {
        setActionError(body.message ?? body.error ?? `HTTP ${xhr.status}`);
      }
    };
    xhr.onerror = () => {
      setUpload(null);
      setActionError('the upload was interrupted');
    };
    xhr.send(form);
  };

  const remove = async (id: string) => {
    try {
      await call('DELETE', `/api/captures/${id}`);
      refresh();
    } catch (e) {
      setActionError(sidecarMessage(e));
    }
  };

  return (
    <div className={styles.page}>
      <div className={styles.forms}>
        <Field label="Import by URL" description="An Azure Blob URL with a SAS token (Network Watcher's capture), or another https URL the sidecar allows">
          <div className={styles.row}>
            <Input aria-label="Capture URL" value={url} placeholder="https://account.blob.core.windows.net/network-watcher-logs/...cap?sv=...&sig=..." onChange={(e) => setUrl(e.currentTarget.value)} />
            <Button onClick={importUrl} disabled={!url.trim()}>
              Import
            </Button>
          </div>
        </Field>
        <Field label="Upload a capture" description="pcap, pcapng or Network Watcher .cap, optionally gzip">
          <input aria-label="Capture file" type="file" onChange={(e) => e.currentTarget.files?.[0] && uploadFile(e.currentTarget.files[0])} />
        </Field>
        {upload && (
          <div role="progressbar" aria-valuenow={upload.total ? Math.round((100 * upload.sent) / upload.total) : 0} className={styles.meta}>
            Uploading {upload.name}: {formatBytes(upload.sent)} of {formatBytes(upload.total)}
          </div>
        )}
        <Field label="Watch a container" description="A container SAS URL (read + list); every new capture blob is imported once">
          <div className={styles.row}>
            <Input aria-label="Container URL" value={container} onChange={(e) => setContainer(e.currentTarget.value)} />
            <Input aria-label="Prefix" width={24} value={prefix} placeholder="prefix (optional)" onChange={(e) => setPrefix(e.currentTarget.value)} />
            <Button onClick={addWatch} disabled={!container.trim()}>
              Watch
            </Button>
          </div>
        </Field>
        {actionError && (
          <Alert title="The sidecar refused" severity="error">
            {actionError}
          </Alert>
        )}
        {note && <Alert title={note} severity="info" />}
        {jobs.map((j) => (
          <JobProgress key={j.id} job={j} onDone={refresh} />
        ))}
      </div>
      {listError && <Alert title="The Capsight sidecar did not answer">{listError}</Alert>}
      {!captures && !listError && <LoadingPlaceholder text="Loading captures" />}
      {captures && (
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
              <th />
            </tr>
          </thead>
          <tbody>
            {captures.map((c) => (
              <tr key={c.id}>
                <td>
                  <a href={overviewUrl(c.id, c.firstMs && c.lastMs ? { from: c.firstMs, to: c.lastMs + 1000 } : undefined)}>{c.name}</a>
                </td>
                <td>{c.azure?.vm ?? ''}</td>
                <td>{c.first ?? ''}</td>
                <td>{c.last ?? ''}</td>
                <td>{formatBytes(c.size)}</td>
                <td>{c.packets}</td>
                <td>{c.flows}</td>
                <td>
                  <ConfirmButton confirmText="Delete" confirmVariant="destructive" onConfirm={() => remove(c.id)}>
                    Delete
                  </ConfirmButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LinkButton variant="secondary" href={overviewUrl()}>
        Overview dashboard
      </LinkButton>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  page: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(2) }),
  forms: css({ maxWidth: 900 }),
  row: css({ display: 'flex', gap: theme.spacing(1) }),
  meta: css({ color: theme.colors.text.secondary }),
});
