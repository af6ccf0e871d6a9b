import type { Feature, Geometry } from 'geojson';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import world from 'world-atlas/countries-110m.json';

/** Natural Earth 1:110m country shapes, bundled (no tiles or files from the internet). */
export type CountryFeature = Feature<Geometry, { name: string }> & { id?: string | number };

let cached: CountryFeature[] | null = null;

export function countryFeatures(): CountryFeature[] {
  if (!cached) {
    const topo = world as unknown as Topology<{ countries: GeometryCollection<{ name: string }> }>;
    cached = (feature(topo, topo.objects.countries) as unknown as { features: CountryFeature[] }).features;
  }
  return cached;
}
