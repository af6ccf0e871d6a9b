import type { DataFrame } from '@grafana/data';
import countries from 'i18n-iso-countries';

export type MapMetric = 'bytes' | 'bytes_sent' | 'bytes_received' | 'packets' | 'flows';

export interface CountryRow {
  /** ISO 3166 alpha-2, or an address label (private, loopback, ...). */
  code: string;
  name: string;
  values: Record<MapMetric, number>;
}

const METRICS: MapMetric[] = ['bytes', 'bytes_sent', 'bytes_received', 'packets', 'flows'];

/** Rows of the sidecar's "countries" frame (numeric-long: name, country_name, bytes, ...). */
export function countryRows(frames: DataFrame[]): CountryRow[] {
  const frame = frames.find((f) => f.fields.some((x) => x.name === 'name') && f.fields.some((x) => x.name === 'bytes'));
  if (!frame) {
    return [];
  }
  const field = (n: string) => frame.fields.find((f) => f.name === n);
  const names = field('name')?.values ?? [];
  const display = field('country_name')?.values ?? names;
  const rows: CountryRow[] = [];
  for (let i = 0; i < names.length; i++) {
    const values = {} as Record<MapMetric, number>;
    for (const m of METRICS) {
      values[m] = Number(field(m)?.values[i] ?? 0);
    }
    rows.push({ code: String(names[i]), name: String(display[i] ?? names[i]), values });
  }
  return rows;
}

/** ISO codes are two upper-case letters; everything else (private, unknown, (other)) is listed apart. */
export function isCountryCode(code: string): boolean {
  return /^[A-Z]{2}$/.test(code);
}

/** world-atlas ids are ISO 3166 numeric ("840"); the sidecar answers alpha-2 ("US"). */
export function numericId(alpha2: string): string | undefined {
  return countries.alpha2ToNumeric(alpha2);
}
