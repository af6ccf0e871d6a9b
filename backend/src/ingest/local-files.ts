import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImportRefused } from '../security/url-policy';

/**
 * Server-side paths for {"path": ...} imports: only inside the configured import directories,
 * checked after resolving symlinks, so "../" and links cannot reach other files.
 */
export function resolveImportPath(requested: string, importDirs: readonly string[]): string {
  if (importDirs.length === 0) throw new ImportRefused('path imports are disabled: no import directory is configured (CAPSIGHT_IMPORT_DIRS)');
  let real: string;
  try {
    real = fs.realpathSync(path.resolve(requested));
  } catch {
    throw new ImportRefused(`path ${requested}: no such file or directory`);
  }
  for (const dir of importDirs) {
    let root: string;
    try {
      root = fs.realpathSync(dir);
    } catch {
      continue;
    }
    const rel = path.relative(root, real);
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) return real;
  }
  throw new ImportRefused(`path ${requested} is outside the import directories (${importDirs.join(', ')})`);
}

const MAGICS = [
  [0xd4, 0xc3, 0xb2, 0xa1],
  [0xa1, 0xb2, 0xc3, 0xd4],
  [0x4d, 0x3c, 0xb2, 0xa1],
  [0xa1, 0xb2, 0x3c, 0x4d],
  [0x0a, 0x0d, 0x0d, 0x0a],
  [0x1f, 0x8b],
];

function looksLikeCapture(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    const n = fs.readSync(fd, b, 0, 4, 0);
    return MAGICS.some((m) => n >= m.length && m.every((x, i) => b[i] === x));
  } finally {
    fs.closeSync(fd);
  }
}

/** A file, or every capture file (by magic bytes) below a directory, sorted by path. */
export function captureFiles(resolved: string): string[] {
  const st = fs.statSync(resolved);
  if (st.isFile()) return [resolved];
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && looksLikeCapture(p)) out.push(p);
    }
  };
  walk(resolved);
  return out;
}
