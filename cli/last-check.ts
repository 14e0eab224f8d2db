// The result of the last `labs check` in a lab folder, so `labs hint` knows what failed.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../grader/events.ts';

export interface LastCheck {
  at: string;
  seed: number;
  status: RunResult['status'];
  failed: string[];
}

const file = (dir: string) => join(dir, '.labs', 'last-check.json');

export function saveLastCheck(dir: string, result: RunResult): void {
  const record: LastCheck = {
    at: new Date().toISOString(),
    seed: result.seed,
    status: result.status,
    failed: result.checks.filter((c) => c.status === 'fail' || c.status === 'error').map((c) => c.id),
  };
  try {
    mkdirSync(join(dir, '.labs'), { recursive: true });
    const tmp = `${file(dir)}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n');
    renameSync(tmp, file(dir));
  } catch {
    // a read-only folder must not turn a verdict into an error
  }
}

export function readLastCheck(dir: string): LastCheck | undefined {
  try {
    return JSON.parse(readFileSync(file(dir), 'utf8')) as LastCheck;
  } catch {
    return undefined;
  }
}
