// --runtime docker: a server that listens on 127.0.0.1:PORT only inside its container (or on another
// port) cannot be reached through the port mapping; the run says so in one line, soon after it starts
// listening, instead of waiting out the ready budget. Needs Docker (fails loudly without it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineLab, expectJson } from '../../grader/index.ts';
import { runLab } from '../../grader/run.ts';
import { dockerClient, listResources, removeResources } from '../../grader/services/docker.ts';
import type { RunEvent } from '../../grader/events.ts';

const NAMESPACE = 'labs-test-listen';
process.env.LABS_DOCKER_NAMESPACE = NAMESPACE;
const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  const client = await dockerClient(() => 'Docker is required for this test');
  await removeResources(client, await listResources(client, NAMESPACE));
}, 60_000);

const lab = defineLab(
  {
    id: 'docker-listen',
    title: 'Docker listen',
    track: 'foundations',
    summary: 'A lab used only to test the engine.',
    difficulty: 'beginner',
    estimatedMinutes: 1,
    questions: [32],
    checks: [{ id: 'health', title: 'GET /health', hint: '-', async run({ http }) { expectJson(await http.get('/health'), 200); } }],
  },
  import.meta.dirname,
);

function project(listen: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'labs-docker-listen-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'Dockerfile'), 'FROM node:20-slim\nWORKDIR /app\nCOPY server.mjs .\nCMD ["node", "server.mjs"]\n');
  writeFileSync(
    join(dir, 'server.mjs'),
    `import { createServer } from 'node:http';
const server = createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"status":"ok"}'); });
server.listen(${listen}, () => console.log('listening on ' + JSON.stringify(server.address())));
`,
  );
  return dir;
}

async function grade(dir: string) {
  const events: RunEvent[] = [];
  const at = new Map<RunEvent, number>();
  const run = runLab({ lab, dir, startCommand: 'docker', runtime: 'docker', seed: 3, readyTimeoutMs: 30_000 });
  run.on((e) => {
    events.push(e);
    at.set(e, performance.now());
  });
  const result = await run.result;
  const started = events.findIndex((e) => e.type === 'server-start');
  return { result, events, started, at };
}

describe('--runtime docker: where the server listens inside its container', () => {
  it('127.0.0.1:PORT only: error (exit 2) saying so in one line, well before the ready budget', { timeout: 180_000 }, async () => {
    const t0 = performance.now();
    const { result, events, at } = await grade(project(`Number(process.env.PORT), '127.0.0.1'`));
    expect(result.exitCode).toBe(2);
    expect(result.message).toContain(`listens on 127.0.0.1:${result.port} only, inside its container`);
    expect(result.message).toContain(`listen(PORT, '0.0.0.0')`);
    expect(result.message).not.toContain('\n');
    // from the server's own "listening" line to the verdict: within 3 s (the build before it is not counted)
    const listened = events.find((e) => e.type === 'server-output' && e.line.startsWith('listening on'));
    const teardown = events.find((e) => e.type === 'phase' && e.phase === 'teardown');
    expect(listened).toBeDefined();
    expect(at.get(teardown!)! - at.get(listened!)!).toBeLessThan(3000);
    expect(result.timings.readyMs).toBeLessThan(10_000);
    expect(performance.now() - t0).toBeLessThan(120_000);
  });

  it('another port: names it', { timeout: 180_000 }, async () => {
    const { result } = await grade(project(`Number(process.env.PORT) + 1, '0.0.0.0'`));
    expect(result.exitCode).toBe(2);
    expect(result.message).toContain(`listens on port ${result.port! + 1} (0.0.0.0:${result.port! + 1}), not on port ${result.port}`);
  });
});
