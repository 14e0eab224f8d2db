// The phases before the learner's server starts, for runs that need Docker: the lab's services, then (with
// `--runtime docker`) the image and the run's network. Loaded by the runner only for such runs, so a lab
// without services on the local runtime never loads testcontainers. Never throws: it returns what it
// created (the runner tears that down) and, when the checks cannot run, why and with which exit code.
import { randomBytes } from 'node:crypto';
import { GraderError } from '../errors.ts';
import type { RunEvent, RunResult } from '../events.ts';
import type { Lab } from '../types.ts';
import { keepServicesWarm, startServices, type ServiceSet } from '../services/index.ts';
import { BuildFailure, DockerRuntime } from './docker.ts';
import type { RuntimeName } from './server.ts';
import type { SandboxLimits } from './sandbox.ts';

export interface PrepareOptions {
  lab: Lab;
  dir: string;
  runtime: RuntimeName;
  serviceUrls?: Partial<Record<'postgres' | 'redis', string>>;
  keepServices?: boolean;
  /** `labs grade`: confine the container (sandbox.ts). */
  sandbox?: SandboxLimits;
  /** The lab env; the services' URLs (DATABASE_URL, REDIS_URL) are added to it. */
  labEnv: Record<string, string>;
  signal: AbortSignal;
  emit: (event: RunEvent) => void;
  timings: RunResult['timings'];
}

export interface Prepared {
  services?: ServiceSet;
  runtime?: DockerRuntime;
  /** Set when the checks cannot run. */
  error?: { exitCode: number; message: string };
}

export async function prepareRun(o: PrepareOptions): Promise<Prepared> {
  const out: Prepared = {};
  const runId = randomBytes(4).toString('hex');
  try {
    if (o.lab.services.length > 0) {
      o.emit({ type: 'phase', phase: 'services' });
      const t0 = performance.now();
      out.services = await startServices(o.lab.services, {
        labId: o.lab.id,
        runId,
        reuse: o.keepServices,
        urls: o.serviceUrls,
        postgresTemplate: o.lab.postgres?.template,
        onEvent: (e) => o.emit({ type: 'service', ...e }),
      });
      o.timings.servicesMs = Math.round(performance.now() - t0);
      Object.assign(o.labEnv, out.services.env(o.runtime === 'docker' ? 'network' : 'host'));
    }
    if (o.runtime === 'docker' && !o.signal.aborted) {
      out.runtime = new DockerRuntime({
        dir: o.dir,
        labId: o.lab.id,
        runId,
        labEnvKeys: Object.keys(o.labEnv),
        removeNetwork: !(o.keepServices ?? keepServicesWarm()),
        // A lab about the image (containerize) runs it as `docker run` would: the image's own PID 1.
        init: o.lab.runtime !== 'docker',
        sandbox: o.sandbox,
        services: o.lab.services,
        onBuild: (state, ms) => o.emit({ type: 'service', name: 'docker build', state, ms }),
      });
      await out.runtime.prepare(o.signal);
      o.timings.buildMs = out.runtime.buildMs;
    }
  } catch (err) {
    if (o.signal.aborted) return out;
    if (err instanceof BuildFailure) {
      const tail = err.output.filter((l) => l.trim()).slice(-30);
      const shown = tail.length ? `\nThe last lines of the build:\n${tail.map((l) => `  ${l}`).join('\n')}` : '';
      const again = err.output.length ? `\nBuild it yourself to see everything: docker build -t my-lab ${o.dir}` : '';
      out.error = { exitCode: 2, message: `${err.message}${shown}${again}` };
    } else if (err instanceof GraderError && (err.code === 'NO_DOCKER' || err.code === 'ENVIRONMENT' || err.code === 'USAGE')) {
      out.error = { exitCode: 3, message: err.message };
    } else {
      out.error = { exitCode: 4, message: `Grader bug (please report it): could not prepare the run: ${(err as Error)?.stack ?? String(err)}` };
    }
  }
  return out;
}
