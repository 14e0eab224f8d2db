// reverse-proxy hosts its backends itself (no Docker). The variants run side by side: every check judges by
// ordering and generous budgets, and the memory bound reads each proxy's own process group.
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupProjects, explain, grade, listMutants, loadLab, makeProject } from '../helpers/project.ts';
import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('reverse-proxy', { timeoutMs: 120_000, concurrent: true });

// The two faults the lab exists to catch get a verdict that names them, quickly.
describe('reverse-proxy fault scenarios', () => {
  afterAll(() => cleanupProjects());

  async function firstFailure(mutantName: string, check: string) {
    const lab = await loadLab('reverse-proxy');
    const mutant = listMutants(lab).find((m) => m.name === mutantName)!;
    const started = performance.now();
    const result = await grade(lab, makeProject(lab, { mutant }), { only: [check] });
    return { result, ms: performance.now() - started };
  }

  it.concurrent('a proxy that forwards unmatched requests to itself is told it loops, within seconds', { timeout: 60_000 }, async () => {
    const { result, ms } = await firstFailure('loop-to-self', 'routing');
    expect(result.status, explain(result)).toBe('fail');
    expect(result.checks[0].failure?.message, explain(result)).toMatch(/to itself/);
    expect(ms).toBeLessThan(30_000);
  });

  it.concurrent('a proxy that buffers a whole upload is told it buffers, within the check budget', { timeout: 60_000 }, async () => {
    const { result, ms } = await firstFailure('buffers-upload', 'streaming-upload');
    expect(result.status, explain(result)).toBe('fail');
    expect(result.checks[0].failure?.message, explain(result)).toMatch(/buffers the whole body/);
    expect(ms).toBeLessThan(45_000);
  });

  it.concurrent('a proxy that keeps a copy of the upload is told its memory grew with the body', { timeout: 60_000 }, async () => {
    const { result } = await firstFailure('keeps-upload-copy', 'streaming-upload');
    expect(result.status, explain(result)).toBe('fail');
    expect(result.checks[0].failure?.message, explain(result)).toMatch(/resident memory grew by/);
  });
});
