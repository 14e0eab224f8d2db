// The proof every lab carries: the solution passes every check, the starter fails, each known-bad
// variant fails exactly the checks it names, and every check is failed by at least one variant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../grader/types.ts';
import { BUILTIN_CHECKS } from '../../grader/builtin-checks.ts';
import { alternativeOptions, cleanupProjects, explain, grade, listAlternatives, listMutants, loadLab, makeProject } from './project.ts';

export interface VerifyOptions {
  /** Extra budget per run (labs with windows/timeouts). */
  timeoutMs?: number;
  /**
   * Run the variants (solution, alternatives, mutants) side by side instead of one after the other. Only for
   * labs whose checks do not depend on tight timing: each variant is its own server on its own port, so they
   * cannot see each other, but they share two cores. vitest's maxConcurrency caps how many run at once.
   */
  concurrent?: boolean;
}

export function verifyLab(id: string, options: VerifyOptions = {}): void {
  const timeout = options.timeoutMs ?? 60_000;
  const variant = options.concurrent ? it.concurrent : it;
  describe(`lab ${id}`, () => {
    let lab: Lab;
    beforeAll(async () => {
      lab = await loadLab(id);
    });
    afterAll(() => cleanupProjects());

    it('has a README, a starter, a solution and at least three known-bad variants', async () => {
      const { existsSync } = await import('node:fs');
      const { join } = await import('node:path');
      expect(existsSync(join(lab.dir, 'README.md'))).toBe(true);
      expect(existsSync(join(lab.dir, 'starter'))).toBe(true);
      expect(existsSync(join(lab.dir, 'solution'))).toBe(true);
      expect(listMutants(lab).length).toBeGreaterThanOrEqual(3);
    });

    it('every check is caught by at least one known-bad variant, and variants name real checks', () => {
      // The engine's own checks (grader/builtin-checks.ts) are proven once, against servers with the classic
      // mistakes, in test/engine/builtin-checks.test.ts; a lab's mutants may still name them.
      const ids = lab.checks.map((c) => c.id).filter((id) => !BUILTIN_CHECKS.includes(id));
      for (const m of listMutants(lab)) for (const f of m.fails) expect(lab.checks.map((c) => c.id), `mutant ${m.name} names unknown check ${f}`).toContain(f);
      const mutants = listMutants(lab);
      const caught = new Set(mutants.flatMap((m) => m.fails));
      expect(ids.filter((c) => !caught.has(c)), 'checks no mutant fails').toEqual([]);
    });

    variant('the reference solution passes every check', { timeout }, async ({ expect }) => {
      const result = await grade(lab, makeProject(lab, 'solution'));
      expect(result.status, explain(result)).toBe('pass');
      expect(result.checks.map((c) => c.status)).toEqual(lab.checks.map(() => 'pass'));
    });

    variant('the untouched starter starts and fails the first check', { timeout }, async ({ expect }) => {
      const result = await grade(lab, makeProject(lab, 'starter'), { all: false });
      expect(result.status, explain(result)).toBe('fail');
      expect(result.exitCode).toBe(1);
      expect(result.checks[0].status, explain(result)).toBe('fail');
    });

    // Other correct solutions (another library, hand-written, another language...) laid over the starter
    // must pass too. One in another language runs twice: a stack Node's assumptions do not hold for is where a
    // timing-dependent false verdict shows up, and a flaky check is a bug.
    for (const alt of listAlternatives(labDirOf(id))) {
      const runs = alt.start === 'npm start' ? 1 : 2;
      for (let run = 1; run <= runs; run++) {
        variant(`alternative solution "${alt.name}" (${alt.start}) passes every check${runs > 1 ? `, run ${run} of ${runs}` : ''}`, { timeout }, async ({ expect }) => {
          const result = await grade(lab, makeProject(lab, { alternative: alt.dir }), alternativeOptions(lab, alt));
          expect(result.status, explain(result)).toBe('pass');
          expect(result.checks.map((c) => c.status), explain(result)).toEqual(lab.checks.map(() => 'pass'));
        });
      }
    }

    // One test per mutant, declared from the folder so a new mutant is verified without editing tests.
    const mutants = listMutants({ dir: labDirOf(id) } as Lab);
    for (const mutant of mutants) {
      variant(`known-bad variant "${mutant.name}" fails exactly ${mutant.fails.join(', ')}`, { timeout }, async ({ expect }) => {
        const result = await grade(lab, makeProject(lab, { mutant }));
        const failed = result.checks.filter((c) => c.status !== 'pass').map((c) => c.id);
        expect(result.status, explain(result)).toBe('fail');
        expect(result.checks.some((c) => c.status === 'error'), explain(result)).toBe(false);
        expect(failed.sort(), explain(result)).toEqual([...mutant.fails].sort());
      });
    }
  });
}

function labDirOf(id: string): string {
  return new URL(`../../labs/${id}`, import.meta.url).pathname;
}
