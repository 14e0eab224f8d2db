// How the learner's server is started: an npm script without hooks runs directly (as npm would run it,
// without npm's own start-up), npm keeps its semantics where they matter, and a server the CLI started
// before loading the lab is adopted by the run (or replaced when it was started differently).
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineLab, expectJson } from '../../grader/index.ts';
import { runLab } from '../../grader/run.ts';
import { LocalServer } from '../../grader/runtime/local.ts';
import { freePort } from '../../grader/runtime/ports.ts';
import { groupAlive } from '../../grader/runtime/process-group.ts';
import { startEarly } from '../../grader/runtime/early.ts';
import type { RunEvent } from '../../grader/events.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A project whose start script prints what it sees and exits. */
function project(scripts: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'labs-start-path-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'start-path-demo', version: '1.2.3', private: true, scripts }));
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(join(dir, 'report.js'), `const e = process.env; console.log(JSON.stringify({ event: e.npm_lifecycle_event, name: e.npm_package_name, version: e.npm_package_version, json: e.npm_package_json, execpath: e.npm_node_execpath, path: e.PATH, port: e.PORT, npmConfig: Object.keys(e).some((k) => k.startsWith('npm_config_')) }));`);
  return dir;
}

async function runToExit(dir: string, command: string, env: Record<string, string | undefined> = {}): Promise<{ lines: string[]; server: LocalServer }> {
  const lines: string[] = [];
  const server = new LocalServer({ command, cwd: dir, port: await freePort(), env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, onLine: (_s, l) => lines.push(l) });
  server.start();
  const exit = await server.exited();
  expect(exit.code).toBe(0);
  expect(groupAlive(server.pid!)).toBe(false);
  return { lines, server };
}

describe('npm scripts without hooks run directly', () => {
  it('`npm start` runs scripts.start through a shell, with node_modules/.bin on PATH and the npm_* variables', async () => {
    const dir = project({ start: 'node report.js' });
    const { lines, server } = await runToExit(dir, 'npm start');
    expect(server.runCommand).toBe('node report.js');
    expect(lines.join('\n')).not.toContain('> start-path-demo@1.2.3 start'); // npm's banner: npm did not run
    const seen = JSON.parse(lines.find((l) => l.startsWith('{'))!);
    expect(seen).toMatchObject({ event: 'start', name: 'start-path-demo', version: '1.2.3', json: join(dir, 'package.json'), execpath: process.execPath });
    expect(seen.path.split(':')[0]).toBe(join(dir, 'node_modules', '.bin'));
    expect(Number(seen.port)).toBe((server as unknown as { options: { port: number } }).options.port);
  });

  it('`npm run <script>` too', async () => {
    const dir = project({ dev: 'node report.js' });
    const { lines, server } = await runToExit(dir, 'npm run dev');
    expect(server.runCommand).toBe('node report.js');
    expect(JSON.parse(lines.find((l) => l.startsWith('{'))!).event).toBe('dev');
  });

  it('a prestart hook keeps npm (the hook runs first)', async () => {
    const dir = project({ prestart: 'echo hook ran', start: 'node report.js' });
    const { lines, server } = await runToExit(dir, 'npm start');
    expect(server.runCommand).toBe('npm start');
    expect(lines).toContain('hook ran');
    expect(lines.findIndex((l) => l === 'hook ran')).toBeLessThan(lines.findIndex((l) => l.startsWith('{')));
  }, 20_000);

  it('LABS_NO_NPM_SHORTCUT=1 keeps npm', async () => {
    const dir = project({ start: 'node report.js' });
    const { lines, server } = await runToExit(dir, 'npm start', { LABS_NO_NPM_SHORTCUT: '1' });
    expect(server.runCommand).toBe('npm start');
    expect(lines.join('\n')).toContain('> start-path-demo@1.2.3 start');
  }, 20_000);

  it('arguments after the script, or another command, are left alone', async () => {
    const dir = project({ start: 'node report.js' });
    expect((await runToExit(dir, 'npm start -- --inspect=0')).server.runCommand).toBe('npm start -- --inspect=0');
    expect((await runToExit(dir, 'node report.js')).server.runCommand).toBe('node report.js');
  }, 20_000);
});

describe('early start: the server started before the lab is loaded', () => {
  const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'servers');
  const lab = defineLab(
    {
      id: 'early-start',
      title: 'Early start',
      track: 'foundations',
      summary: 'A lab used only to test the engine.',
      difficulty: 'beginner',
      estimatedMinutes: 1,
      questions: [32],
      env: { GREETING: { description: 'static knob', value: 'hello' } },
      checks: [{ id: 'health', title: 'GET /health', hint: '-', async run({ http }) { expectJson(await http.get('/health'), 200); } }],
    },
    FIXTURES,
  );

  async function run(earlyEnv: Record<string, string>) {
    const early = await startEarly({ command: 'node ok.js', dir: FIXTURES, labEnv: earlyEnv });
    const events: RunEvent[] = [];
    const r = runLab({ lab, dir: FIXTURES, startCommand: 'node ok.js', seed: 7, early });
    r.on((e) => events.push(e));
    const result = await r.result;
    const starts = events.filter((e): e is Extract<RunEvent, { type: 'server-start' }> => e.type === 'server-start');
    return { early, result, events, starts };
  }

  it('started as the run would start it: adopted (same process, same port), its early output kept, nothing left', async () => {
    const { early, result, events, starts } = await run({ GREETING: 'hello' });
    expect(result.status).toBe('pass');
    expect(starts).toHaveLength(1);
    expect(starts[0].pid).toBe(early.server.pid);
    expect(result.port).toBe(early.port);
    expect(events.some((e) => e.type === 'server-output' && e.line === 'ok server up')).toBe(true);
    expect(groupAlive(early.server.pid!)).toBe(false);
  });

  it('started with another env: stopped and replaced by the run\'s own server, nothing left', async () => {
    const { early, result, starts } = await run({ GREETING: 'stale value' });
    expect(result.status).toBe('pass');
    expect(starts).toHaveLength(1);
    expect(starts[0].pid).not.toBe(early.server.pid);
    expect(groupAlive(early.server.pid!)).toBe(false);
    expect(groupAlive(starts[0].pid!)).toBe(false);
  });
});
