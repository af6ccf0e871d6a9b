/** Display names of country codes and of the address labels the enrichment uses instead of a country. */
const regionNames = new Intl.DisplayNames(['en'], { type: 'region' });
const LABEL_NAMES: Record<string, string> = {
  private: 'Private / local',
  loopback: 'Loopback',
  'link-local': 'Link-local',
  cgnat: 'Carrier-grade NAT',
  multicast: 'Multicast',
  documentation: 'Documentation range',
  unspecified: 'Unspecified',
  broadcast: 'Broadcast',
  reserved: 'Reserved',
  unknown: 'Unknown',
};

export function countryName(code: string): string {
  if (LABEL_NAMES[code]) return LABEL_NAMES[code];
  try {
    return regionNames.of(code) ?? code;
  } catch {
    return code;
  }
}
