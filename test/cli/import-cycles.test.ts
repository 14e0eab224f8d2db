// No import cycle among the modules of cli/: a command, its session and its view each depend one way.
// Every import counts (static, dynamic `import()`, `import type`, `export ... from`): a type-only circle
// still ties the modules together for a reader and for the next refactoring.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'cli');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The cli/ modules each cli/ module imports, by path relative to the repository. */
export function importGraph(files: string[]): Map<string, string[]> {
  const inCli = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => resolve(dirname(file), spec))
      .filter((target) => inCli.has(target));
    graph.set(relative(ROOT, file), [...new Set(targets.map((t) => relative(ROOT, t)))].sort());
  }
  return graph;
}

/** Every strongly connected set of more than one module (or a module importing itself), each as one cycle path. */
export function cycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, then one concrete path through each component for the message.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) connect(v);
  return components.map((component) => {
    const members = new Set(component);
    const start = [...component].sort()[0];
    // Shortest way back to `start` inside the component (breadth first).
    const previous = new Map<string, string>();
    const queue = [start];
    while (queue.length) {
      const v = queue.shift()!;
      for (const w of graph.get(v) ?? []) {
        if (!members.has(w)) continue;
        if (w === start) {
          const path = [v];
          while (path[0] !== start) path.unshift(previous.get(path[0])!);
          return [...path, start];
        }
        if (!previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    return [start, start];
  });
}

it('finds a cycle when there is one (the detector itself)', () => {
  const graph = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts', 'd.ts']],
    ['d.ts', []],
    ['e.ts', ['e.ts']],
  ]);
  expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts'], ['e.ts', 'e.ts']]);
  expect(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', []]]))).toEqual([]);
});

it('reads type-only, dynamic and re-export imports', () => {
  const info = ts.preProcessFile("import type { A } from './a.ts';\nexport { b } from './b.ts';\nconst c = await import('./c.ts');\n", true, true);
  expect(info.importedFiles.map((f) => f.fileName)).toEqual(['./a.ts', './b.ts', './c.ts']);
});

it('no module of cli/ imports itself back through others', () => {
  const graph = importGraph(sources(CLI));
  expect(graph.size).toBeGreaterThan(20);
  expect(graph.get('cli/commands/check.ts')).toContain('cli/commands/watch.ts');
  expect(cycles(graph).map((c) => c.join(' -> '))).toEqual([]);
});
