// sql-crud needs PostgreSQL: the grader starts it in Docker (kept warm between runs). Without Docker these
// tests fail with the grader's "no Docker" message; they never skip.
import { afterAll, describe, expect, it } from 'vitest';
import { verifyLab } from '../helpers/verify-lab.ts';
import { cleanupProjects, explain, grade, listMutants, loadLab, makeProject } from '../helpers/project.ts';

verifyLab('sql-crud');

// The same lab with the learner's server built from the template's Dockerfile and run in a container on the
// services' network (DATABASE_URL=postgres://...@postgres:5432/...): same checks, same verdicts.
describe('lab sql-crud with --runtime docker', () => {
  afterAll(() => cleanupProjects());

  it('the reference solution passes every check in a container', { timeout: 240_000 }, async () => {
    const lab = await loadLab('sql-crud');
    const result = await grade(lab, makeProject(lab, 'solution'), { runtime: 'docker' });
    expect(result.status, explain(result)).toBe('pass');
    expect(result.checks.map((c) => c.status)).toEqual(lab.checks.map(() => 'pass'));
  });

  it('a known-bad variant fails exactly its check in a container (restart = a new container)', { timeout: 240_000 }, async () => {
    const lab = await loadLab('sql-crud');
    const mutant = listMutants(lab).find((m) => m.name === 'drops-table-on-start')!;
    const result = await grade(lab, makeProject(lab, { mutant }), { runtime: 'docker' });
    const failed = result.checks.filter((c) => c.status !== 'pass').map((c) => c.id);
    expect(result.status, explain(result)).toBe('fail');
    expect(failed, explain(result)).toEqual(['survives-restart']);
  });
});
