// A lab whose grader hosts a server of its own (the webhook receiver) also works when the learner's server
// runs in a container: the hosted server is reached through the host gateway (host.docker.internal).
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupProjects, explain, grade, loadLab, makeProject } from '../helpers/project.ts';

describe('lab webhooks with --runtime docker', () => {
  afterAll(() => cleanupProjects());

  it('the reference solution passes every check in a container, sender checks included', { timeout: 240_000 }, async () => {
    const lab = await loadLab('webhooks');
    const result = await grade(lab, makeProject(lab, 'solution'), { runtime: 'docker' });
    expect(result.status, explain(result)).toBe('pass');
    expect(result.checks.map((c) => c.status)).toEqual(lab.checks.map(() => 'pass'));
  });
});
