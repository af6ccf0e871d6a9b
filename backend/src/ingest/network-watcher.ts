/**
 * Azure Network Watcher writes packet captures to
 * network-watcher-logs/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/virtualmachines/{vm}/{yyyy}/{MM}/{dd}/packetcapture_{HH}_{mm}_{ss}_{ms}.cap
 * (also with virtualmachinescalesets/{vmss}/virtualmachines/{n}). The path tells which VM and when.
 */
export interface NetworkWatcherPath {
  subscription: string;
  resourceGroup: string;
  vm: string;
  /** Capture start from the file name (UTC), epoch ms, when the name carries it. */
  startedMs: number | null;
}

const LAYOUT =
  /(?:^|\/)subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.compute\/(?:virtualmachinescalesets\/([^/]+)\/)?virtualmachines\/([^/]+)\/(?:(\d{4})\/(\d{2})\/(\d{2})\/)?([^/]+)$/i;
const FILE_TIME = /^packetcapture_(\d{2})_(\d{2})_(\d{2})_(\d{1,3})\.cap$/i;

export function parseNetworkWatcherPath(blobPath: string): NetworkWatcherPath | null {
  let decoded = blobPath;
  try {
    decoded = decodeURIComponent(blobPath);
  } catch {
    // a name with a stray "%" is read as it is
  }
  const m = LAYOUT.exec(decoded);
  if (!m) return null;
  const [, subscription, resourceGroup, scaleSet, vm, y, mo, d, file] = m;
  let startedMs: number | null = null;
  const t = FILE_TIME.exec(file);
  if (y && t) startedMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(t[1]), Number(t[2]), Number(t[3]), Number(t[4]));
  return { subscription, resourceGroup, vm: scaleSet ? `${scaleSet}/${vm}` : vm, startedMs };
}
