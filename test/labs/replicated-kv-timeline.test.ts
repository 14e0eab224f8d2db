// Every replicated-kv run writes .labs/history.html: a static timeline of the operations and the faults.
// Rendered here in headless Chromium (Debian's chromium, installed by .ci/run) and read as a person would:
// the clients' columns, operations with their outcomes, the partitions and heals. Without Chromium this test
// fails loudly; it never skips.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cleanupProjects, explain, grade, listMutants, loadLab, makeProject } from '../helpers/project.ts';

function chromium(): string {
  for (const bin of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      execFileSync('which', [bin], { stdio: 'ignore' });
      return bin;
    } catch {
      // next
    }
  }
  throw new Error('Chromium is required for this test (Debian: apt-get install chromium; .ci/run installs it)');
}

it('a run writes .labs/history.html, and a browser shows its operations, outcomes and faults', { timeout: 120_000 }, async () => {
  const browser = chromium();
  const lab = await loadLab('replicated-kv');
  const mutant = listMutants(lab).find((m) => m.name === 'cp-local-read')!;
  const dir = makeProject(lab, { mutant });
  const result = await grade(lab, dir);
  expect(result.status, explain(result)).toBe('fail');
  const page = join(dir, '.labs', 'history.html');
  expect(existsSync(page)).toBe(true);
  const dom = execFileSync(browser, ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `file://${page}`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
  expect(dom).toMatch(/<h1>replicated-kv: \d+ operations, \d+ network events<\/h1>/);
  for (const client of ['c1', 'c2', 'c3']) expect(dom).toMatch(new RegExp(`<div class="head" style="left:\\d+px;?">${client}</div>`));
  expect(dom).toMatch(/class="op ok"[^>]*title="c\d @ node \d: write k\w+ = v1-/);
  expect(dom).toMatch(/class="op info"[^>]*title="[^"]*\(info, 503\)/); // the refused write on the minority side
  expect(dom).toContain('partition {1} | {2,3}');
  expect(dom).toContain('heal');
  const shot = join(dir, '.labs', 'history.png');
  execFileSync(browser, ['--headless', '--no-sandbox', '--disable-gpu', `--screenshot=${shot}`, '--window-size=1000,1400', `file://${page}`], { timeout: 60_000, stdio: 'ignore' });
  expect(statSync(shot).size).toBeGreaterThan(10_000); // something was drawn
  cleanupProjects();
});
