// Looking at a folder the grader gave the server (e.g. an upload directory and its parents): what is in it,
// what appeared since a snapshot, and whether a path stays inside a folder. Symlinks are listed, never followed.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

export interface DirEntry {
  /** Absolute path. */
  path: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mtimeMs: number;
}

/** Every entry below `root` (not `root` itself), recursively. Entries that vanish while listing are skipped. */
export function snapshotDir(root: string): Map<string, DirEntry> {
  const out = new Map<string, DirEntry>();
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      const kind = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
      out.set(path, { path, kind, size: st.size, mtimeMs: st.mtimeMs });
      if (kind === 'dir') walk(path);
    }
  };
  walk(root);
  return out;
}

/** Entries present in `after` but not in `before` (optionally only files and symlinks). */
export function addedEntries(before: Map<string, DirEntry>, after: Map<string, DirEntry>, filesOnly = true): DirEntry[] {
  return [...after.values()].filter((e) => !before.has(e.path) && (!filesOnly || e.kind !== 'dir'));
}

/** True if `path` is `dir` or below it (lexically, after resolving . and ..). */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** sha256 (hex) of a file's content, or undefined if it cannot be read. */
export function fileSha256(path: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined;
  }
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
