// containerize builds every variant's Dockerfile and runs it in Docker (no init: the image's PID 1 gets
// the signals). Without Docker these tests fail with the grader's "no Docker" message; they never skip.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { dockerClient, listResources, removeResources } from '../../grader/services/docker.ts';
import { explain, grade, loadLab, makeProject } from '../helpers/project.ts';
import { verifyLab } from '../helpers/verify-lab.ts';

const NAMESPACE = 'labs-test-containerize';
process.env.LABS_DOCKER_NAMESPACE = NAMESPACE;

afterAll(async () => {
  const client = await dockerClient(() => 'Docker is required for this test');
  await removeResources(client, await listResources(client, NAMESPACE));
}, 60_000);

verifyLab('containerize', { timeoutMs: 240_000 });

it('an image whose entrypoint exits at once: a clear verdict within seconds, no container or image left', { timeout: 120_000 }, async () => {
  const lab = await loadLab('containerize');
  const dir = makeProject(lab, 'solution');
  writeFileSync(join(dir, 'Dockerfile'), 'FROM node:20-slim\nWORKDIR /app\nCOPY src ./src\nUSER node\nCMD ["node", "-e", "console.log(\'config missing\'); process.exit(3)"]\n');
  const t0 = performance.now();
  const result = await grade(lab, dir);
  expect(result.status, explain(result)).toBe('error');
  expect(result.exitCode).toBe(2);
  expect(result.message).toMatch(/Your server exited before it listened on port \d+ \(exit code 3\)/);
  expect(result.serverOutput.join('\n')).toContain('config missing');
  expect(performance.now() - t0 - (result.timings.buildMs ?? 0)).toBeLessThan(15_000);
  const client = await dockerClient(() => 'Docker is required for this test');
  const left = await listResources(client, NAMESPACE);
  expect(left.containers.filter((c) => c.role === 'app')).toEqual([]);
  expect(left.images).toEqual([]);
});
