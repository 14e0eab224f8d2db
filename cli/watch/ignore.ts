// What `labs check --watch` does not watch: dependencies, build output, caches, editor and server files,
// and whatever the lab folder's .gitignore files exclude, with git's own rules (the `ignore` package:
// patterns relative to the .gitignore that holds them, a deeper .gitignore overriding a shallower one,
// nothing re-included under an excluded folder).
import { readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';

/** Folders never watched: dependencies, build output, caches, VCS, the grader's own state. */
export const IGNORED_DIRS = new Set([
  'node_modules', '.git', '.hg', '.svn', '.labs', 'dist', 'build', 'out', 'coverage', '.next', '.nuxt', '.turbo',
  '.cache', '.parcel-cache', 'target', '__pycache__', '.pytest_cache', '.mypy_cache', '.venv', 'venv', '.idea', '.vscode',
  '.gradle', 'obj', 'tmp',
]);

/** Files that change without the learner saving code: editor swap/backup files, logs, local databases. */
const IGNORED_FILE = /(^|\/)(\.#.*|#.*#|.*~|.*\.sw[a-p]|4913|\.DS_Store|.*\.log|.*\.pid|.*\.(sqlite|sqlite3|db)(-journal|-wal|-shm)?|.*\.tmp)$/i;

/** Decides for a path relative to the watched folder (with `/` or the platform's separator). */
export type IgnoreFn = (rel: string, isDir: boolean) => boolean;

export interface LabIgnore extends IgnoreFn {
  /** Forget what was read of .gitignore files (one changed). */
  reload(): void;
}

/** One .gitignore's rules, or undefined when the folder has none. */
function readGitignore(dir: string): Ignore | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, '.gitignore'), 'utf8');
  } catch {
    return undefined;
  }
  return ignore({ allowRelativePaths: true }).add(text);
}

export function makeIgnore(rootDir: string): LabIgnore {
  const root = resolve(rootDir);
  // Folder (relative, '' for the root) -> its .gitignore's rules. Read on first need.
  const gitignores = new Map<string, Ignore | undefined>();
  const rulesOf = (dir: string) => {
    if (!gitignores.has(dir)) gitignores.set(dir, readGitignore(join(root, dir)));
    return gitignores.get(dir);
  };
  // Whether git would skip `parts` (a path under root) by the .gitignore files above it, deepest deciding.
  const byGit = (parts: string[], isDir: boolean): boolean => {
    let ignored = false;
    for (let depth = 0; depth < parts.length; depth++) {
      const rules = rulesOf(parts.slice(0, depth).join('/'));
      if (!rules) continue;
      const result = rules.test(parts.slice(depth).join('/') + (isDir ? '/' : ''));
      if (result.ignored) ignored = true;
      else if (result.unignored) ignored = false;
    }
    return ignored;
  };
  const decide = ((rel: string, isDir: boolean) => {
    const path = rel.split(sep).join('/');
    if (path === '' || path === '.' || path.startsWith('../')) return false;
    const parts = path.split('/');
    if (parts.some((p, i) => IGNORED_DIRS.has(p) && (isDir || i < parts.length - 1))) return true;
    if (!isDir && IGNORED_FILE.test(path)) return true;
    // As git: a file in an excluded folder stays excluded whatever a later `!pattern` says.
    for (let i = 1; i < parts.length; i++) if (byGit(parts.slice(0, i), true)) return true;
    return byGit(parts, isDir);
  }) as LabIgnore;
  decide.reload = () => gitignores.clear();
  return decide;
}

/**
 * The same decision for an absolute path, as chokidar asks it (`stats` when it has them; otherwise the
 * path is looked at, since a rule like `uploads/` applies to folders only).
 */
export function absoluteIgnore(rootDir: string, decide: IgnoreFn): (path: string, stats?: { isDirectory(): boolean; isSymbolicLink?(): boolean }) => boolean {
  const root = resolve(rootDir);
  return (path, stats) => {
    const rel = relative(root, path);
    if (rel === '' || rel.startsWith('..')) return false;
    let isDir = false;
    // A link is judged by what it points to: node_modules linked to a shared install is still node_modules.
    if (stats && !stats.isSymbolicLink?.()) isDir = stats.isDirectory();
    else {
      try {
        isDir = statSync(path).isDirectory();
      } catch {
        // gone already: decide as for a file
      }
    }
    return decide(rel, isDir);
  };
}
