// The container runtime under the engine's own controls: ctx.server.kill(signal) and restart() act on the
// container, exits are reported as signals, output is captured, only the run's variables enter the
// container, and everything the run created is removed. Needs Docker (fails loudly without it).
import { afterAll, expect, it } from 'vitest';
import { defineLab } from '../../grader/define.ts';
import { CheckFailure } from '../../grader/errors.ts';
import { dockerClient, LABEL_ROLE, LABEL_NAMESPACE, listResources, removeResources } from '../../grader/services/docker.ts';
import { cleanupProjects, explain, grade, loadLab, makeProject } from '../helpers/project.ts';

const NAMESPACE = 'labs-test-runtime';
process.env.LABS_DOCKER_NAMESPACE = NAMESPACE;

afterAll(async () => {
  cleanupProjects();
  const client = await dockerClient(() => 'Docker is required for this test');
  await removeResources(client, await listResources(client, NAMESPACE));
}, 60_000);

function must(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailure(message);
}

it('kill(signal), restart(), output() and the container\'s environment with --runtime docker', { timeout: 240_000 }, async () => {
  const base = await loadLab('http-basics');
  const probe = defineLab(
    {
      id: 'docker-runtime-probe',
      title: 'Runtime probe',
      track: 'foundations',
      summary: 'Exercises the server controls in a container.',
      difficulty: 'beginner',
      estimatedMinutes: 1,
      questions: [10],
      env: { PROBE_KNOB: { description: 'a lab variable', value: 'knob-value' } },
      checks: [
        {
          id: 'output',
          title: 'the server\'s output is captured',
          hint: '-',
          async run({ server }) {
            const line = await server.waitForOutput(/listening on/, 5000, true);
            must(line !== undefined, `no "listening on" line in ${JSON.stringify(server.output())}`);
          },
        },
        {
          id: 'environment',
          title: 'only the run\'s variables enter the container',
          hint: '-',
          async run({ server }) {
            const client = await dockerClient(() => 'no Docker');
            const filters = JSON.stringify({ label: [`${LABEL_NAMESPACE}=${NAMESPACE}`, `${LABEL_ROLE}=app`] });
            const [app] = await client.container.dockerode.listContainers({ filters });
            must(app, 'no app container found');
            const env = (await client.container.dockerode.getContainer(app.Id).inspect()).Config.Env;
            must(env.includes('PROBE_KNOB=knob-value'), `the lab variable is missing: ${env.join(' ')}`);
            must(env.includes(`PORT=${server.port}`), `PORT is not ${server.port}: ${env.join(' ')}`);
            must(!env.some((e) => e.startsWith('HOME=')) && !env.includes(`PATH=${process.env.PATH}`), `the host's environment leaked in: ${env.join(' ')}`);
            must(!env.some((e) => e.startsWith('TESTCONTAINERS_')), `the grader's own variables leaked in: ${env.join(' ')}`);
          },
        },
        {
          id: 'kill-term',
          title: 'kill(SIGTERM) stops the container and reports the signal',
          hint: '-',
          async run({ server, http }) {
            const exit = await server.kill('SIGTERM');
            must(exit.signal === 'SIGTERM', `expected an exit by SIGTERM, got ${JSON.stringify(exit)}`);
            must(!server.running, 'the server still counts as running');
            await server.restart({ env: { PROBE_KNOB: 'changed' } });
            const res = await http.get('/health');
            must(res.status === 200, `after restart() GET /health answered ${res.status}`);
          },
        },
        {
          id: 'kill-9',
          title: 'kill(SIGKILL) is reported as SIGKILL; the next check gets a new container',
          hint: '-',
          async run({ server }) {
            const exit = await server.kill('SIGKILL');
            must(exit.signal === 'SIGKILL', `expected an exit by SIGKILL, got ${JSON.stringify(exit)}`);
          },
        },
        {
          id: 'after-kill',
          title: 'the runner started the server again',
          hint: '-',
          async run({ http }) {
            const res = await http.get('/health');
            must(res.status === 200, `GET /health answered ${res.status}`);
          },
        },
      ],
    },
    base.dir,
  );
  const result = await grade(probe, makeProject(base, 'solution'), { runtime: 'docker' });
  expect(result.status, explain(result)).toBe('pass');
  const left = await listResources(await dockerClient(() => 'no Docker'), NAMESPACE);
  expect(left.containers, 'the run\'s containers are removed').toEqual([]);
  expect(left.images, 'the run\'s image is removed').toEqual([]);
});
