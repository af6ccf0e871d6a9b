import React, { useEffect, useState } from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { Alert, LinkButton, useStyles2 } from '@grafana/ui';
import { call, isActive, type Job } from './sidecar';
import { overviewUrl } from '../links';
import { formatBytes } from '../formatBytes';
import { sidecarMessage } from '../sidecarMessage';

/** Live progress of one import job (polled), ending with a link to the Overview filtered to its capture. */
export function JobProgress({ job: initial, onDone }: { job: Job; onDone?: (j: Job) => void }) {
  const styles = useStyles2(getStyles);
  const [job, setJob] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stop = false;
    const tick = async () => {
      while (!stop) {
        try {
          const j = await call<Job>('GET', `/api/jobs/${initial.id}`);
          setJob(j);
          if (!isActive(j)) {
            onDone?.(j);
            return;
          }
        } catch (e) {
          setError(sidecarMessage(e));
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    void tick();
    return () => {
      stop = true;
    };
  }, [initial.id, onDone]);

  const pct = job.bytesTotal ? Math.min(100, (100 * job.bytesDone) / job.bytesTotal) : job.state === 'done' ? 100 : 0;
  return (
    <div className={styles.job} data-testid="capsight-job">
      <div>
        <strong>{job.name}</strong> {job.state}
        {job.result ? `: ${job.result}` : ''}
      </div>
      <div className={styles.track} role="progressbar" aria-valuenow={Math.round(pct)} aria-valuemin={0} aria-valuemax={100}>
        <div className={styles.bar} style={{ width: `${pct}%` }} />
      </div>
      <div className={styles.meta}>
        {formatBytes(job.bytesDone)}
        {job.bytesTotal ? ` of ${formatBytes(job.bytesTotal)}` : ''}
        {job.bytesPerSec ? `, ${formatBytes(job.bytesPerSec)}/s` : ''}
        {job.etaSec !== null && job.state === 'running' ? `, ${Math.ceil(job.etaSec)} s left` : ''}
        {job.flows ? `, ${job.flows} flows` : ''}
      </div>
      {job.state === 'failed' && <Alert title="Import failed">{job.error}</Alert>}
      {error && <Alert title="Lost the job">{error}</Alert>}
      {job.state === 'done' && job.captureId && (
        <LinkButton size="sm" variant="secondary" href={overviewUrl(job.captureId)}>
          Open in Overview
        </LinkButton>
      )}
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  job: css({ margin: theme.spacing(1, 0) }),
  track: css({ height: 6, background: theme.colors.background.secondary, borderRadius: 3, margin: theme.spacing(0.5, 0) }),
  bar: css({ height: 6, background: theme.colors.primary.main, borderRadius: 3 }),
  meta: css({ color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize }),
});
