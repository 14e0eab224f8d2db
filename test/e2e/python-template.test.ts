// `labs start <lab> --template python`: a Python 3 standard-library base for every lab. It starts, listens
// on PORT, and fails each lab's first check (no lab is solved out of the box); labs.json remembers it.
// Labs with services need Docker here, as everywhere (never skipped).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runLab } from '../../grader/run.ts';
import { labIds, loadLab } from '../../labs/index.ts';
import { scaffold } from '../../cli/scaffold.ts';
import { explain } from '../helpers/project.ts';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

describe('the python template', () => {
  for (const id of labIds()) {
    it(`${id}: scaffolds without TypeScript, starts, and fails the first check (or says the lab has one template)`, { timeout: 120_000 }, async () => {
      const lab = await loadLab(id);
      if (lab.templates && !lab.templates.includes('python')) {
        const dir = mkdtempSync(join(tmpdir(), `labs-py-${id}-`));
        made.push(dir);
        expect(() => scaffold({ lab, dir, template: 'python', force: true })).toThrow(new RegExp(`Lab "${id}" starts from a given app in ${lab.templates.join(' or ')}: \`--template python\` does not apply`));
        return;
      }
      const dir = mkdtempSync(join(tmpdir(), `labs-py-${id}-`));
      made.push(dir);
      const result = scaffold({ lab, dir, template: 'python', force: true });
      expect(result.files).toContain('server.py');
      expect(result.files.filter((f) => f.endsWith('.ts') || f === 'package.json')).toEqual([]);
      const manifest = JSON.parse(readFileSync(join(dir, 'labs.json'), 'utf8'));
      const roles = lab.roles ?? [];
      const start = roles.length > 1 ? Object.fromEntries(roles.map((r, i) => [r, i === 0 ? 'python3 -u server.py' : `python3 -u ${r}.py`])) : 'python3 -u server.py';
      const commands = lab.commands ? { commands: Object.fromEntries(Object.keys(lab.commands).map((name) => [name, `python3 -u ${name}.py`])) } : {};
      expect(manifest).toEqual({ lab: id, template: 'python', start, ...commands });
      const run = await runLab({ lab, dir, startCommand: 'python3 -u server.py', all: false }).result;
      expect(run.exitCode, explain(run)).toBe(1);
      expect(run.checks[0]!.status, explain(run)).toBe('fail');
    });
  }
});
