// Measures save-to-verdict of `labs check --watch` on http-basics: the time from a save in the lab folder
// to the verdict (the last check's result), with its breakdown.
// Run: npx tsx test/cli/watch-latency.ts [samples] [start command, default "npm start"]
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRunOptions } from '../../cli/commands/check-options.ts';
import { ROOT, scaffold } from '../../cli/scaffold.ts';
import type { WatchEvent } from '../../cli/watch/events.ts';
import { WatchSession } from '../../cli/watch/session.ts';
import { runLab } from '../../grader/run.ts';
import { loadLab } from '../../labs/index.ts';

const samples = Number(process.argv[2] ?? 10);
const startCommand = process.argv[3] ?? 'npm start';
const lab = await loadLab('http-basics');
const dir = mkdtempSync(join(tmpdir(), 'labs-latency-'));
scaffold({ lab, dir, overlays: [join(lab.dir, 'solution')], force: true });
symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
const server = join(dir, 'src', 'server.ts');
const good = readFileSync(server, 'utf8');
const bad = good.replace("{ status: 'ok' }", "{ status: 'okay' }");

interface Sample { fromSave: number; toSee: number; total: number; toRun: number; toReady: number; checks: number; teardown: number; verdict: string }
const rows: Sample[] = [];
let marks: Record<string, number> = {};
let onVerdict: ((e: Extract<WatchEvent, { type: 'verdict' }>) => void) | undefined;

const session = new WatchSession({ dir, makeRun: () => runLab(checkRunOptions({}, dir, startCommand, lab)) });
session.subscribe((e) => {
  if (e.type === 'run') {
    marks = { changed: e.changedAt ?? performance.timeOrigin + performance.now(), run: Date.now() };
    e.run.on((ev) => {
      if (ev.type === 'server-ready') marks.ready = Date.now();
      if (ev.type === 'check-end') marks.lastCheck = Date.now();
      if (ev.type === 'run-end') marks.end = Date.now();
    });
  }
  if (e.type === 'verdict') onVerdict?.(e);
});
const nextVerdict = () => new Promise<Extract<WatchEvent, { type: 'verdict' }>>((resolve) => (onVerdict = resolve));

const first = nextVerdict();
session.start();
await first;
for (let i = 0; i < samples; i++) {
  const v = nextVerdict();
  const saved = Date.now();
  writeFileSync(server, i % 2 === 0 ? bad : good);
  const e = await v;
  rows.push({
    // from the write itself: the watcher's own delay (file event, or the poll) included
    fromSave: (e.saveToVerdictMs ?? NaN) + (marks.changed - saved),
    toSee: marks.changed - saved,
    total: e.saveToVerdictMs ?? NaN,
    toRun: marks.run - marks.changed,
    toReady: marks.ready - marks.run,
    checks: marks.lastCheck - marks.ready,
    teardown: marks.end - marks.lastCheck,
    verdict: e.result.status,
  });
}
await session.stop();
rmSync(dir, { recursive: true, force: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`save-to-verdict on http-basics with \`${startCommand}\` (ms): write -> save seen (file event) -> run started (debounce) -> server listening -> last check -> teardown`);
for (const r of rows) console.log(`  ${String(r.fromSave).padStart(5)} = ${String(r.toSee).padStart(3)} + ${String(r.toRun).padStart(4)} + ${String(r.toReady).padStart(5)} + ${String(r.checks).padStart(4)}   (teardown after the verdict ${r.teardown}; ${r.verdict})`);
console.log(`median ${median(rows.map((r) => r.fromSave))} ms from the write (${median(rows.map((r) => r.total))} ms from the save seen; write -> seen median ${median(rows.map((r) => r.toSee))} ms, debounce median ${median(rows.map((r) => r.toRun))} ms), max ${Math.max(...rows.map((r) => r.fromSave))} ms over ${rows.length} saves; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${(await import('node:os')).cpus().length} cores`);
