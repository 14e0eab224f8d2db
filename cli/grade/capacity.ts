// How many submissions `labs grade` runs at once by default: what this machine can hold, from its cores
// and its free memory. Each job is one sandboxed container (CPU-limited, memory-limited) plus its share of
// the grader and Docker; the figures below come from grading http-basics here (see docs/classroom.md).
import { availableParallelism, freemem } from 'node:os';
import type { SandboxLimits } from '../../grader/runtime/sandbox.ts';

/**
 * Jobs per core: a job waits on Docker (build cache, create, start, teardown) much of its time, so a core
 * holds two. Measured on 2 cores, 20 http-basics submissions: 1 job 6.2/min, 2 jobs 8.2/min, 4 jobs 13.1/min.
 */
export const JOBS_PER_CORE = 2;
/** What the grader process and Docker need per job on top of the container's own limit (measured: the grader ~100 MiB RSS with 2 jobs; headroom for Docker's shim and the build). */
export const GRADER_SHARE_MIB = 192;
/** Left free for the rest of the machine. */
export const RESERVE_MIB = 1024;

export interface Capacity {
  jobs: number;
  cores: number;
  freeMiB: number;
  perJobMiB: number;
  /** One line: how the number was reached. */
  explain: string;
}

export function capacity(limits: Pick<SandboxLimits, 'memoryMiB'>, cores = availableParallelism(), freeMiB = Math.floor(freemem() / 1024 / 1024)): Capacity {
  const perJobMiB = limits.memoryMiB + GRADER_SHARE_MIB;
  const byCpu = Math.max(1, Math.floor(cores * JOBS_PER_CORE));
  const byMemory = Math.max(1, Math.floor((freeMiB - RESERVE_MIB) / perJobMiB));
  const jobs = Math.min(byCpu, byMemory);
  const explain = `${jobs} here: min(${cores} cores x ${JOBS_PER_CORE}, (${freeMiB} MiB free - ${RESERVE_MIB} reserved) / ${perJobMiB} MiB per job = ${byMemory})`;
  return { jobs, cores, freeMiB, perJobMiB, explain };
}
