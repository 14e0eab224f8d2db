// `labs --version`, `labs list` and a non-terminal `labs check` must not load ink/React: the terminal UI is
// only imported dynamically, on the TTY path. Checked on the static import graph of the CLI.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const UI_PACKAGES = /^(ink|react|react-dom|ink-[\w-]+|yoga-[\w-]+)(\/|$)/;

/** Static (not dynamic, not type-only) imports of a TypeScript file. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

function reachable(entry: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (existsSync(target)) visit(target);
      } else if (!spec.startsWith('node:')) packages.set(spec, file);
    }
  };
  visit(join(ROOT, entry));
  return { files, packages };
}

it.each(['cli/main.ts', 'cli/commands/list.ts', 'cli/commands/check.ts', 'cli/commands/home.ts', 'cli/commands/progress.ts', 'cli/commands/questions.ts', 'cli/commands/reset.ts', 'cli/commands/solution.ts', 'cli/commands/watch.ts', 'cli/watch/session.ts', 'cli/watch/text.ts', 'cli/commands/ci.ts'])(
  '%s does not statically import ink, React or a .tsx component',
  (entry) => {
    const { files, packages } = reachable(entry);
    const ui = [...packages].filter(([name]) => UI_PACKAGES.test(name)).map(([name, from]) => `${name} (from ${from.slice(ROOT.length + 1)})`);
    expect(ui).toEqual([]);
    expect([...files].filter((f) => f.endsWith('.tsx')).map((f) => f.slice(ROOT.length + 1))).toEqual([]);
  },
);

it('the check (detects a static import of ink when there is one)', () => {
  const { packages } = reachable('cli/tui/check.tsx');
  expect([...packages.keys()]).toContain('ink');
});
