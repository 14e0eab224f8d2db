// Per-run temporary folders for env knobs (e.g. an upload directory the grader then inspects).
// Created on first use under the OS temp folder, removed at teardown.
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize } from 'node:path';

export class RunTempDirs {
  private root?: string;

  constructor(private readonly label: string) {}

  tempDir(sub?: string): string {
    // realpath: on some systems the temp folder is a symlink, and the server may report resolved paths.
    this.root ??= realpathSync(mkdtempSync(join(tmpdir(), `labs-${this.label}-`)));
    if (sub === undefined || sub === '') return this.root;
    const rel = normalize(sub);
    if (isAbsolute(rel) || rel === '..' || rel.startsWith(`..${'/'}`) || rel.startsWith('..\\')) {
      throw new Error(`tempDir: expected a relative sub-folder inside the run's folder, got ${JSON.stringify(sub)}`);
    }
    const dir = join(this.root, rel);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Removes everything created for this run (never throws). */
  remove(): void {
    if (!this.root) return;
    try {
      rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // best effort: a file the server still holds open must not turn teardown into a grader bug
    }
    this.root = undefined;
  }
}
