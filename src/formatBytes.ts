import { formattedValueToString, getValueFormat } from '@grafana/data';

const decbytes = getValueFormat('decbytes');

/** A byte count the way Grafana shows "decbytes" (1.5 MB). */
export function formatBytes(n: number): string {
  return formattedValueToString(decbytes(n));
}
