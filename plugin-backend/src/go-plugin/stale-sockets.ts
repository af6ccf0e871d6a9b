import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { SOCKET_DIR_PREFIX, SOCKET_FILE } from './handshake';

/** The socket directories listenTarget() makes: the prefix and mkdtemp's six characters. */
const SOCKET_DIR = new RegExp(`^${SOCKET_DIR_PREFIX}[A-Za-z0-9]{6}$`);
/** Younger directories are left alone: a plugin starting now may not be listening yet. */
export const STALE_AFTER_MS = 60_000;

/**
 * Removes the socket directories of this plugin's earlier processes that were killed (SIGKILL: a
 * wedged plugin after go-plugin's 2 s, Grafana's container stopped hard) and so could not remove
 * their own. A directory counts as stale when it belongs to this user, is older than
 * STALE_AFTER_MS, and is empty or holds a socket nobody accepts on (ECONNREFUSED). Anything else
 * in the directory, or a socket that answers, leaves it in place. Returns the removed paths.
 */
export async function removeStaleSocketDirs(base: string, own: string | undefined, now = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = fs.readdirSync(base);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    const dir = path.join(base, name);
    if (!SOCKET_DIR.test(name) || dir === own) continue;
    let st: fs.Stats;
    let entries: string[];
    try {
      st = fs.lstatSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || now - st.mtimeMs < STALE_AFTER_MS) continue;
      entries = fs.readdirSync(dir);
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    const stale = entries.length === 0 || (entries.length === 1 && entries[0] === SOCKET_FILE && (await refused(path.join(dir, SOCKET_FILE))));
    if (!stale) continue;
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** True when a connection to the unix socket at file is refused: no process listens there any more. */
function refused(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(file);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' || e.code === 'ENOENT'));
  });
}
