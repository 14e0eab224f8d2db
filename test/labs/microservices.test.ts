// microservices runs two learner processes (orders, inventory) with the grader's fault network between them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupProjects, explain, grade, loadLab, makeProject } from '../helpers/project.ts';
import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('microservices', { timeoutMs: 180_000, concurrent: true });

// Broken setups get a clear verdict (the bypass of PEERS is a mutant: bypasses-peers).
describe('microservices: clear verdicts for broken services', () => {
  afterAll(() => cleanupProjects());

  const withFile = async (file: string, text: string) => {
    const lab = await loadLab('microservices');
    const dir = makeProject(lab, 'solution');
    writeFileSync(join(dir, file), text);
    return { lab, dir };
  };

  it.concurrent('an inventory that never listens: order-flow fails and says inventory did not answer on its PORT', { timeout: 60_000 }, async () => {
    const { lab, dir } = await withFile('src/inventory.ts', "console.log('inventory: booting forever');\nsetInterval(() => {}, 1000);\n");
    const result = await grade(lab, dir, { only: ['order-flow'] });
    expect(result.exitCode, explain(result)).toBe(1);
    expect(result.checks[0]!.failure?.message, explain(result)).toMatch(/inventory .* did not answer GET \/health with 200 on its PORT/);
  });

  it.concurrent('an inventory that answers garbage: order-flow fails naming inventory and its answer', { timeout: 60_000 }, async () => {
    const garbage = "import { createServer } from 'node:http';\ncreateServer((req, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('OK!!')).listen(Number(process.env.PORT));\n";
    const { lab, dir } = await withFile('src/inventory.ts', garbage);
    const result = await grade(lab, dir, { only: ['order-flow'] });
    expect(result.exitCode, explain(result)).toBe(1);
    expect(result.checks[0]!.failure?.message, explain(result)).toMatch(/^inventory: PUT \/items\/<sku>/);
  });

  it.concurrent('an orders that needs inventory to start: the run says orders exited before it listened (exit 2)', { timeout: 60_000 }, async () => {
    const lab = await loadLab('microservices');
    const dir = makeProject(lab, 'solution');
    const { readFileSync } = await import('node:fs');
    const orders = join(dir, 'src/orders.ts');
    writeFileSync(orders, readFileSync(orders, 'utf8').replace("const INVENTORY = peer('inventory');", "const INVENTORY = peer('inventory');\nawait fetch(`${INVENTORY}/health`, { signal: AbortSignal.timeout(1000) }); // warm-up that needs inventory"));
    const result = await grade(lab, dir, { only: ['order-flow'] });
    expect(result.exitCode, explain(result)).toBe(2);
    expect(result.message, explain(result)).toMatch(/exited before it listened/);
  });
});
