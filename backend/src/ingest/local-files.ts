import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImportRefused } from '../security/url-policy';

/**
 * Server-side paths for {"path": ...} imports: only inside the configured import directories, and
 * never through a symbolic link. The check is made on what was opened, not on a name looked at
 * earlier: a file is opened once (O_NOFOLLOW, and O_NONBLOCK so a FIFO cannot hang the open), then
 * the kernel's own record of the open file (/proc/self/fd) must name the very path asked for
 * (a link at any component would change it) inside an import root, and it must be a regular file.
 * The job reads that descriptor: swapping the file for a link after the request changes nothing.
 */
export interface ImportTarget {
  /** The path inside an import root (the root's real path + the asked-for components). */
  path: string;
  root: string;
  isDirectory: boolean;
}

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = fs.constants;

function realRoots(importDirs: readonly string[]): { configured: string; real: string }[] {
  const out: { configured: string; real: string }[] = [];
  for (const dir of importDirs) {
    try {
      out.push({ configured: path.resolve(dir), real: fs.realpathSync(dir) });
    } catch {
      // a configured directory that does not exist (yet) holds nothing to import
    }
  }
  return out;
}

const inside = (root: string, p: string): string | null => {
  const rel = path.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel)) ? rel : null;
};

/**
 * Where a requested path points, checked by name only (the open checks again): absolute paths
 * must lie inside an import directory; relative ones are taken inside the import directories, the
 * first that has them.
 */
export function resolveImportPath(requested: string, importDirs: readonly string[]): ImportTarget {
  if (importDirs.length === 0) throw new ImportRefused('path imports are disabled: no import directory is configured (CAPSIGHT_IMPORT_DIRS)');
  if (requested.includes('\0')) throw new ImportRefused('"path" contains a NUL character');
  const roots = realRoots(importDirs);
  const candidates: { path: string; root: string }[] = [];
  if (path.isAbsolute(requested)) {
    const abs = path.resolve(requested);
    for (const r of roots) {
      const rel = inside(r.configured, abs) ?? inside(r.real, abs);
      if (rel !== null) candidates.push({ path: path.join(r.real, rel), root: r.real });
    }
    if (candidates.length === 0) throw new ImportRefused(`path ${requested} is outside the import directories (${importDirs.join(', ')})`);
  } else {
    for (const r of roots) {
      const p = path.resolve(r.real, requested);
      if (inside(r.real, p) !== null) candidates.push({ path: p, root: r.real });
    }
    if (candidates.length === 0) throw new ImportRefused(`path ${requested} leads outside the import directories (${importDirs.join(', ')})`);
  }
  for (const c of candidates) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(c.path);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) throw new ImportRefused(`path ${requested} is a symbolic link: imports do not follow links`);
    if (!st.isFile() && !st.isDirectory()) throw new ImportRefused(`path ${requested} is not a regular file or directory (a FIFO, socket or device cannot be imported)`);
    return { ...c, isDirectory: st.isDirectory() };
  }
  throw new ImportRefused(`path ${requested}: no such file or directory in the import directories`);
}

/** The path the kernel records for an open descriptor (Linux), or null where there is no /proc. */
function openedPath(fd: number): string | null {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return null;
  }
}

/**
 * Checks an open descriptor against the path it was opened by. Without /proc, every component
 * below the root is looked at (lstat) and the final one must be the same file (device and inode)
 * as the descriptor: weaker (a component can change between the two), but no link is followed.
 */
function verifyOpened(fd: number, target: { path: string; root: string }, shown: string): fs.Stats {
  const st = fs.fstatSync(fd);
  const real = openedPath(fd);
  if (real !== null) {
    if (real !== target.path) throw new ImportRefused(`path ${shown} goes through a symbolic link: imports do not follow links`);
  } else {
    let at = target.root;
    for (const part of path.relative(target.root, target.path).split(path.sep).filter(Boolean)) {
      at = path.join(at, part);
      if (fs.lstatSync(at).isSymbolicLink()) throw new ImportRefused(`path ${shown} goes through a symbolic link: imports do not follow links`);
    }
    const named = fs.lstatSync(target.path);
    if (named.dev !== st.dev || named.ino !== st.ino) throw new ImportRefused(`path ${shown} changed while it was opened`);
  }
  if (inside(target.root, target.path) === null) throw new ImportRefused(`path ${shown} is outside the import directories`);
  return st;
}

/** Opens a capture file inside an import root, once, and checks what was opened. The caller closes it. */
export async function openImportFile(target: { path: string; root: string }, shown = target.path): Promise<{ handle: fs.promises.FileHandle; size: number }> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(target.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new ImportRefused(`path ${shown} is a symbolic link: imports do not follow links`);
    if (code === 'ENOENT') throw new ImportRefused(`path ${shown}: no such file`);
    if (code === 'EACCES') throw new ImportRefused(`path ${shown}: permission denied`);
    throw new ImportRefused(`path ${shown}: cannot open (${code ?? (err as Error).message})`);
  }
  try {
    const st = verifyOpened(handle.fd, target, shown);
    if (!st.isFile()) throw new ImportRefused(`path ${shown} is not a regular file (a FIFO, socket or device cannot be imported)`);
    return { handle, size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

const MAGICS = [
  [0xd4, 0xc3, 0xb2, 0xa1],
  [0xa1, 0xb2, 0xc3, 0xd4],
  [0x4d, 0x3c, 0xb2, 0xa1],
  [0xa1, 0xb2, 0x3c, 0x4d],
  [0x0a, 0x0d, 0x0d, 0x0a],
  [0x1f, 0x8b],
];

/** Whether a regular file (not followed through a link) starts like a pcap, pcapng or gzip file. */
function looksLikeCapture(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return false;
    const b = Buffer.alloc(4);
    const n = fs.readSync(fd, b, 0, 4, 0);
    return MAGICS.some((m) => n >= m.length && m.every((x, i) => b[i] === x));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Every capture file (by magic bytes) below a directory inside an import root, sorted by path.
 * Links are neither listed nor entered; each file is opened and checked again when it is read.
 */
export function captureFilesIn(target: ImportTarget): string[] {
  const dirFd = fs.openSync(target.path, O_RDONLY | O_NOFOLLOW | O_DIRECTORY | O_NONBLOCK);
  try {
    verifyOpened(dirFd, target, target.path);
  } finally {
    fs.closeSync(dirFd);
  }
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && looksLikeCapture(p)) out.push(p);
    }
  };
  walk(target.path);
  return out;
}
