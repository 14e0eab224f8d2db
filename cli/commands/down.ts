// `labs down`: stop and remove what `labs check` keeps running between runs (the warm PostgreSQL and Redis
// containers, their network) and anything a killed run left behind (a learner's container or image).
// Only resources of this namespace (LABS_DOCKER_NAMESPACE, default backend-labs) are touched.
import { GraderError } from '../../grader/errors.ts';
import { palette, shouldColour } from '../../grader/report/colour.ts';
import { dockerClient, dockerNamespace, listResources, removeResources } from '../../grader/services/docker.ts';
import { EXIT } from '../exit.ts';

export async function runDown(): Promise<number> {
  const c = palette(shouldColour(process.stdout));
  const namespace = dockerNamespace();
  let client;
  try {
    client = await dockerClient(
      () =>
        'No Docker engine answered (looked at DOCKER_HOST, /var/run/docker.sock and the rootless Docker sockets), so `labs down` cannot see any container.\n' +
        'If Docker is stopped, nothing of backend-labs is running. If it runs elsewhere, set DOCKER_HOST and try again.',
    );
  } catch (err) {
    if (err instanceof GraderError) {
      process.stderr.write(`labs: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
  const found = await listResources(client, namespace);
  const total = found.containers.length + found.networks.length + found.images.length;
  if (total === 0) {
    process.stdout.write(`Nothing to stop: no container, network or image of ${namespace} is left.\n`);
    return EXIT.pass;
  }
  const problems = await removeResources(client, found);
  const lines: string[] = [];
  for (const k of found.containers) lines.push(`${c.green('✓')} removed container ${c.bold(k.name)} ${c.dim(`(${k.image}, ${k.role}, was ${k.state})`)}`);
  for (const n of found.networks) lines.push(`${c.green('✓')} removed network ${c.bold(n.name)}`);
  for (const i of found.images) lines.push(`${c.green('✓')} removed image ${c.bold(i.tags[0] ?? i.id.slice(7, 19))}`);
  for (const p of problems) lines.push(`${c.red('✗')} ${p}`);
  if (problems.length === 0) lines.push(c.dim('The next `labs check` of a lab with services starts them again (a few seconds).'));
  process.stdout.write(lines.join('\n') + '\n');
  return problems.length === 0 ? EXIT.pass : EXIT.usage;
}
