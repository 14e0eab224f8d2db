// graphql needs PostgreSQL (with pg_stat_statements): the grader starts it in Docker (kept warm between runs) and
// seeds the lab's small template database once per container. Without Docker these tests fail with the grader's
// "no Docker" message; they never skip. The checks count statements and compare data, never time; the variants
// still run one after the other: side by side on a loaded 2-core machine, servers and the shared PostgreSQL
// answered past the request timeouts.
import { afterAll, describe, expect, it } from 'vitest';
import { verifyLab } from '../helpers/verify-lab.ts';
import { cleanupProjects, explain, grade, loadLab, makeProject } from '../helpers/project.ts';

verifyLab('graphql', { timeoutMs: 180_000, concurrent: true });

// The learner's server in a container on the services' network (DATABASE_URL=postgres://...@postgres:5432/...):
// the same statements counted, the same verdicts.
describe('lab graphql with --runtime docker', () => {
  afterAll(() => cleanupProjects());

  it('the reference solution passes every check in a container', { timeout: 300_000 }, async () => {
    const lab = await loadLab('graphql');
    const result = await grade(lab, makeProject(lab, 'solution'), { runtime: 'docker' });
    expect(result.status, explain(result)).toBe('pass');
    expect(result.checks.map((c) => c.status)).toEqual(lab.checks.map(() => 'pass'));
  });
});
