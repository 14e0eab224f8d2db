// The home screen (`labs` in a terminal), driven by keys through injected streams, with in-memory
// services: every step awaits the frame it should produce.
import React from 'react';
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HomeApp } from '../../cli/tui/home.tsx';
import type { HomeServices, StartOutcome } from '../../cli/tui/services.ts';
import { parseReadmeHints } from '../../cli/tui/hints.ts';
import { applyCheck, type LabRecord } from '../../cli/progress.ts';
import { defineLab } from '../../grader/define.ts';
import type { Lab } from '../../grader/types.ts';
import { loadLab } from '../../labs/index.ts';
import { FakeRun, inputReady, KEYS, renderApp, waitForFrame, waitForText } from './ink-helpers.ts';
import { failHealth, result } from './fixtures.ts';

let labs: Lab[];
beforeAll(async () => {
  const sql = defineLab(
    {
      id: 'sql-crud',
      title: 'SQL CRUD',
      track: 'data',
      summary: 'Create, read, update and delete rows in PostgreSQL.',
      difficulty: 'intermediate',
      estimatedMinutes: 60,
      questions: [33, 40, 48],
      services: ['postgres'],
      checks: [{ id: 'create', title: 'POST creates a row', hint: 'INSERT ... RETURNING id.', run: async () => {} }],
    },
    '/nonexistent/sql-crud',
  );
  labs = [await loadLab('http-basics'), sql];
});

class FakeServices implements HomeServices {
  cwd = '/work';
  recs: Record<string, LabRecord> = {};
  folders = new Set<string>();
  runs: FakeRun[] = [];
  starts: { lab: string; resolve: (o: StartOutcome) => void; reject: (e: Error) => void }[] = [];
  warnings: string[] = [];
  records() {
    return structuredClone(this.recs);
  }
  start(lab: Lab, onStep: (text: string) => void) {
    onStep(`Creating ./${lab.id}`);
    return new Promise<StartOutcome>((resolve, reject) => {
      this.starts.push({
        lab: lab.id,
        resolve: (o) => {
          this.recs[lab.id] = { attempts: 0, startedAt: 'now', dir: o.dir };
          this.folders.add(o.dir);
          resolve(o);
        },
        reject,
      });
    });
  }
  isLabFolder(dir: string) {
    return this.folders.has(dir);
  }
  check() {
    const run = new FakeRun();
    run.onAbort = () => run.end(result([], { status: 'error', exitCode: 130, message: 'Stopped (quit).' }));
    this.runs.push(run);
    return run;
  }
  finished(lab: Lab, res: Parameters<HomeServices['finished']>[1], dir: string) {
    if (res.exitCode === 130) return;
    this.recs[lab.id] = applyCheck(this.recs[lab.id] ?? { attempts: 0 }, lab.checks.length, res, dir, 'later');
  }
  readmeHints(lab: Lab) {
    return lab.id === 'http-basics' ? parseReadmeHints(readFileSync(`${lab.dir}/README.md`, 'utf8')) : [];
  }
  drainWarnings() {
    return this.warnings.splice(0);
  }
}

/** Wrapped text, as one line. */
const flat = (text: string) => text.replace(/\s+/g, ' ');

let app: ReturnType<typeof renderApp> | undefined;
afterEach(() => app?.unmount());

async function open(services: FakeServices) {
  app = renderApp(<HomeApp labs={labs} services={services} />);
  await waitForText(app, 'backend-labs');
  await inputReady(app);
  return app;
}

describe('HomeApp', () => {
  it('lists the labs by track with their status, and details the selected one', async () => {
    const services = new FakeServices();
    services.recs['sql-crud'] = { attempts: 2, best: { passed: 0, total: 1, at: 'x' }, dir: '/work/sql-crud' };
    const r = await open(services);
    const f = await waitForText(r, 'Interview questions it covers (9)');
    expect(f).toContain('backend-labs · 2 labs · 0 passed · 0/50 interview questions ready');
    expect(f).toMatch(/Foundations[\s\S]*❯ http-basics +new[\s\S]*Data[\s\S]*sql-crud +started/);
    expect(f).toContain('HTTP basics: your first server');
    expect(f).toContain('Difficulty beginner, about 30 min');
    expect(f).toContain('Runs       your server');
    expect(f).toContain('Services   none');
    expect(f).toContain('31. What is a backend in web development?');
    expect(f).toContain('Enter start it in ./http-basics');

    r.stdin.write(KEYS.down);
    const g = await waitForText(r, 'Create, read, update and delete rows in PostgreSQL.');
    expect(g).toContain('Services   postgres');
    expect(g).toContain('Enter check it in ./sql-crud');
    expect(g).toContain('48. What does CRUD stand for?');
  });

  it('filters by typing; Esc clears; h reveals the next hint; ? shows the keys', async () => {
    const r = await open(new FakeServices());
    r.stdin.write('sql');
    let f = await waitForText(r, 'Filter: sql');
    expect(f).toContain('1 match');
    expect(f).not.toContain('http-basics');
    r.stdin.write(KEYS.escape);
    f = await waitForFrame(r, (x) => !x.includes('Filter:') && x.includes('http-basics'));
    expect(f).toMatch(/❯ sql-crud/); // the selection stays where the filter left it

    r.stdin.write('h'); // a lab without README hints steps through its checks' hints
    f = await waitForText(r, 'Hint 1 of 2: POST creates a row') // then the engine's own malformed-requests check;
    expect(f).toContain('INSERT ... RETURNING id.');
    r.stdin.write(KEYS.up);
    await waitForText(r, 'h hint 1 of 3');
    r.stdin.write('h');
    f = await waitForText(r, 'Hint 1 of 3: Where do I start?');
    expect(f).toContain('http.createServer');
    r.stdin.write('h');
    await waitForText(r, 'Hint 2 of 3: Reading a body');

    r.stdin.write('?');
    f = await waitForText(r, 'Keys');
    expect(f).toContain('start the selected lab');
    r.stdin.write('x');
    await waitForFrame(r, (x) => !x.includes('Any key closes this help.'));
  });

  it('Enter on a new lab starts it and says where; Enter again checks it live; back; q quits', async () => {
    const services = new FakeServices();
    const r = await open(services);
    r.stdin.write(KEYS.enter);
    await waitForText(r, 'Creating ./http-basics');
    expect(services.starts.map((s) => s.lab)).toEqual(['http-basics']);
    services.starts[0].resolve({ dir: '/work/http-basics', files: 8, installed: true, adopted: false });
    let f = await waitForText(r, 'Started HTTP basics');
    expect(flat(f)).toContain('in ./http-basics (8 files, dependencies installed). Next: cd ./http-basics');
    expect(f).toMatch(/❯ http-basics +started/);

    r.stdin.write(KEYS.enter);
    await waitForText(r, 'q stop and quit');
    const run = services.runs[0];
    run.emit({ type: 'run-start', lab: { id: 'http-basics', title: 'HTTP basics: your first server' }, seed: 9, checks: [], dir: '/work/http-basics', startCommand: 'npm start' });
    run.emit({ type: 'check-start', id: 'health', title: 'GET /health answers 200', index: 0, total: 9 });
    await waitForText(r, '[1/9] GET /health answers 200');
    run.emit({ type: 'check-end', result: failHealth(), index: 0, total: 9 });
    run.end(result([failHealth()], { seed: 9 }));
    f = await waitForText(r, 'Enter back to the list');
    expect(f).toContain('FAILED 0 of 1 checks passed');
    expect(f).toContain("curl -i http://127.0.0.1:4321/health -H 'accept: application/json'");

    r.stdin.write('h');
    await waitForText(r, 'Hint 1 of 3: Where do I start?');

    r.stdin.write(KEYS.enter);
    f = await waitForText(r, 'Last run');
    expect(f).toContain('failed · 0 of 1 checks passed · failing: health');
    r.stdin.write('q');
    await r.exited;
  });

  it('q during a check stops the run (teardown) before quitting', async () => {
    const services = new FakeServices();
    services.recs['http-basics'] = { attempts: 0, dir: '/work/http-basics' };
    services.folders.add('/work/http-basics');
    const r = await open(services);
    r.stdin.write(KEYS.enter);
    await waitForText(r, 'q stop and quit');
    r.stdin.write('q');
    await r.exited;
    expect(services.runs[0].aborted).toBe('quit');
  });

  it('a failed start says why; a progress warning is shown', async () => {
    const services = new FakeServices();
    services.warnings.push('Your progress file was moved aside.');
    const r = await open(services);
    await waitForText(r, 'Your progress file was moved aside.');
    r.stdin.write(KEYS.enter);
    await waitForText(r, 'Creating ./http-basics');
    services.starts[0].reject(new Error('./http-basics already exists and is not empty.'));
    const f = await waitForText(r, '✗ ./http-basics already exists and is not empty.');
    expect(f).toMatch(/❯ http-basics +new/);
  });
});
