/** Links into the bundled dashboards (no Grafana imports: the dashboard generator reads this too). */
export const OVERVIEW_UID = 'capsight-overview';

/** The Overview dashboard, filtered to one capture (and its time span, when known). */
export function overviewUrl(captureId?: string, range?: { from: number; to: number }): string {
  const base = `/d/${OVERVIEW_UID}`;
  if (!captureId) {
    return base;
  }
  return `${base}?var-capture=${captureId}${range ? `&from=${range.from}&to=${range.to}` : ''}`;
}
