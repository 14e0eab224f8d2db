// Builds real lab projects in temp folders (template + starter, then solution and mutant overlays) and
// runs the grader on them. node_modules is a link to the repository's, so no install is needed.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scaffold, ROOT } from '../../cli/scaffold.ts';
import { loadLab } from '../../labs/index.ts';
import { runLab, type RunOptions } from '../../grader/run.ts';
import { roleCommands } from '../../grader/runtime/roles.ts';
import type { RunResult } from '../../grader/events.ts';
import type { Lab } from '../../grader/types.ts';

export interface Mutant {
  name: string;
  dir: string;
  description: string;
  /** The checks this known-bad variant must fail (and the only ones it fails). */
  fails: string[];
  /**
   * Checks it may fail too, by the machine's timing rather than by its bug (a proxy that loops to itself ends the
   * loop with a 431 or a 504, whichever limit it reaches first); each needs a `why` in mutant.json.
   */
  mayAlsoFail: string[];
  edits: { file: string; find: string; replace: string }[];
  /** A shared layer (mutants/_<name>/) laid over the solution before this mutant's own files and edits. */
  base?: string;
}

export function listMutants(lab: Lab): Mutant[] {
  const base = join(lab.dir, 'mutants');
  if (!existsSync(base)) return [];
  return readdirSync(base, { withFileTypes: true })
    // mutants/_<name>/: a layer several mutants share (`"base": "_<name>"`), not a mutant itself.
    .filter((d) => d.isDirectory() && !d.name.startsWith('_'))
    .map((d) => {
      const dir = join(base, d.name);
      const spec = JSON.parse(readFileSync(join(dir, 'mutant.json'), 'utf8')) as Partial<Mutant>;
      if (!Array.isArray(spec.fails) || spec.fails.length === 0) throw new Error(`mutant ${lab.id}/${d.name}: mutant.json needs a non-empty "fails" list`);
      if (spec.base !== undefined && (!spec.base.startsWith('_') || !existsSync(join(base, spec.base)))) throw new Error(`mutant ${lab.id}/${d.name}: "base" must name a folder mutants/_<name>/, got ${spec.base}`);
      const mayAlsoFail = (spec as { mayAlsoFail?: string[] }).mayAlsoFail ?? [];
      if (mayAlsoFail.length && !(spec as { why?: string }).why) throw new Error(`mutant ${lab.id}/${d.name}: "mayAlsoFail" needs a "why" (what makes the outcome depend on timing)`);
      return { name: d.name, dir, description: spec.description ?? '', fails: spec.fails, mayAlsoFail, edits: spec.edits ?? [], base: spec.base && join(base, spec.base) };
    });
}

/** Applies a mutant's find/replace edits; each `find` must occur exactly once, so a stale mutant fails loudly. */
export function applyEdits(projectDir: string, mutant: Mutant): void {
  for (const edit of mutant.edits) {
    const path = join(projectDir, edit.file);
    const text = readFileSync(path, 'utf8');
    const count = text.split(edit.find).length - 1;
    if (count !== 1) throw new Error(`mutant ${mutant.name}: expected to find the edit text exactly once in ${edit.file}, found it ${count} times:\n${edit.find}`);
    writeFileSync(path, text.replace(edit.find, () => edit.replace));
  }
}

const made: string[] = [];

export type Variant = 'starter' | 'solution' | { mutant: Mutant } | { alternative: string };

export interface Alternative {
  name: string;
  dir: string;
  /** The start command from the alternative's own labs.json (e.g. `python3 -u server.py`), else `npm start`. */
  start: string;
  /** A lab with roles: one command per role (labs.json `{"start": {"orders": "...", "inventory": "..."}}`). */
  roles?: Record<string, string>;
}

/**
 * labs/<id>/alternatives/<name>/: other correct solutions, each laid over the starter. An alternative in
 * another language has a labs.json of its own with its start command (`{"start": "python3 -u server.py"}`).
 */
export function listAlternatives(labDir: string): Alternative[] {
  const base = join(labDir, 'alternatives');
  if (!existsSync(base)) return [];
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => {
      const dir = join(base, d.name);
      const manifest = join(dir, 'labs.json');
      const raw = existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { start?: string | Record<string, string> }).start : undefined;
      const roles = typeof raw === 'object' && raw !== null ? raw : undefined;
      if (roles && !Object.values(roles).every((c) => typeof c === 'string' && c.trim())) throw new Error(`alternative ${d.name}: labs.json "start" needs a command for each role`);
      const start = roles ? Object.values(roles).join(' & ') : (raw as string | undefined);
      if (existsSync(manifest) && (typeof start !== 'string' || !start.trim())) throw new Error(`alternative ${d.name}: labs.json needs a "start" command`);
      return { name: d.name, dir, start: start ?? 'npm start', roles };
    });
}

/** How to run an alternative: its start command, or (a lab with roles) the first role's and the others'. */
export function alternativeOptions(lab: Lab, alt: Alternative): Partial<RunOptions> {
  if (!alt.roles) return { startCommand: alt.start };
  const { main, others } = roleCommands(alt.roles, lab.roles ?? [], `alternative ${alt.name}: labs.json`);
  return { startCommand: main, roles: others };
}

export function makeProject(lab: Lab, variant: Variant): string {
  const dir = mkdtempSync(join(tmpdir(), `labs-${lab.id}-`));
  made.push(dir);
  const overlays =
    variant === 'starter'
      ? []
      : variant === 'solution'
        ? [join(lab.dir, 'solution')]
        : 'alternative' in variant
          ? [variant.alternative]
          : [join(lab.dir, 'solution'), ...(variant.mutant.base ? [variant.mutant.base] : []), variant.mutant.dir];
  scaffold({ lab, dir, overlays, force: true });
  if (typeof variant === 'object' && 'mutant' in variant) applyEdits(dir, variant.mutant);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

export function cleanupProjects(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function grade(lab: Lab, dir: string, options: Partial<RunOptions> = {}): Promise<RunResult> {
  const run = runLab({ lab, dir, startCommand: 'npm start', all: true, ...options });
  return run.result;
}

export { loadLab };

/** A readable account of a result for assertion messages. */
export function explain(result: RunResult): string {
  const lines = [`status=${result.status} exit=${result.exitCode} seed=${result.seed}${result.message ? ` message=${result.message}` : ''}`];
  for (const c of result.checks) lines.push(`  ${c.status.padEnd(5)} ${c.id}${c.failure ? `: ${c.failure.message}` : ''}`);
  if (result.serverOutput.length) lines.push('  server output:', ...result.serverOutput.slice(-10).map((l) => `    ${l}`));
  return lines.join('\n');
}
