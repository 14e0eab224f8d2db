// orm-relations needs PostgreSQL with pg_stat_statements: the grader starts it in Docker (kept warm between
// runs). Without Docker these tests fail with the grader's "no Docker" message; they never skip.
import { afterAll, describe, expect, it } from 'vitest';
import { verifyLab } from '../helpers/verify-lab.ts';
import { cleanupProjects, explain, grade, listMutants, loadLab, makeProject } from '../helpers/project.ts';

verifyLab('orm-relations', { timeoutMs: 180_000 });

// Bad input: an ORM client built per request. The failure must say how many connections were open at once,
// how many the burst opened, and name the cause (a client or pool created inside the handler).
describe('lab orm-relations: a connection per request is reported clearly', () => {
  afterAll(() => cleanupProjects());

  it('names the connection count and the cause', { timeout: 180_000 }, async () => {
    const lab = await loadLab('orm-relations');
    const mutant = listMutants(lab).find((m) => m.name === 'connection-per-request')!;
    const result = await grade(lab, makeProject(lab, { mutant }), { only: ['bounded-connections'] });
    const check = result.checks.find((c) => c.id === 'bounded-connections');
    expect(check?.status, explain(result)).toBe('fail');
    const text = `${check?.failure?.message ?? ''}\n${check?.failure?.received ?? ''}`;
    expect(text).toMatch(/had (2[1-9]|3[0-9]) connections to PostgreSQL open at once/);
    expect(text).toMatch(/opened during the burst/);
    expect(text).toMatch(/connection per request/);
  });
});
