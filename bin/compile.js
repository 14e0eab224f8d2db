// Compiles the CLI, the engine and every lab definition into plain JavaScript under
// node_modules/.cache/backend-labs/<fingerprint>/ (esbuild, which tsx already brings). `labs` then starts
// without a TypeScript loader: about 0.3 s sooner, which is time a learner waits for every verdict.
// The cache is keyed by the sources' paths, sizes and mtimes, so an edited file is recompiled on the
// next run; nothing here is committed. LABS_NO_COMPILE=1 runs the sources through tsx instead.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const SOURCE = /\.(ts|tsx|json)$/;

function walk(dir, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (SOURCE.test(entry.name)) out.push(full);
  }
}

/** The files the CLI is made of: cli/, grader/, labs/index.ts and each lab's own top-level files. */
export function sources(root) {
  const files = [join(root, 'package.json'), join(root, 'labs', 'index.ts')];
  walk(join(root, 'cli'), files);
  walk(join(root, 'grader'), files);
  for (const entry of readdirSync(join(root, 'labs'), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const f of readdirSync(join(root, 'labs', entry.name), { withFileTypes: true })) {
      if (f.isFile() && SOURCE.test(f.name)) files.push(join(root, 'labs', entry.name, f.name));
    }
  }
  return files;
}

export function fingerprint(root) {
  const hash = createHash('sha1');
  for (const file of sources(root)) {
    const st = statSync(file);
    hash.update(`${relative(root, file)}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

const BUNDLED = new Set(['execa']);

function externals(root) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((n) => !BUNDLED.has(n));
  return names.flatMap((n) => [n, `${n}/*`]);
}

export function cacheDir(root) {
  return join(root, 'node_modules', '.cache', 'backend-labs');
}

/** Builds into `out` (atomically: a temp folder renamed into place). Returns `out`. */
export async function compile(root, out) {
  const { build } = await import('esbuild');
  const labEntries = readdirSync(join(root, 'labs'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, 'labs', d.name, 'lab.ts')))
    .map((d) => join(root, 'labs', d.name, 'lab.ts'));
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  await build({
    entryPoints: [join(root, 'cli', 'main.ts'), ...labEntries],
    outbase: root,
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Packages stay in node_modules, except execa: bundled, it loads in a third of the time, and
    // `labs check` needs it before it can start the learner's server.
    external: externals(root),
    banner: { js: "import { createRequire as __labsRequire } from 'node:module'; const require = __labsRequire(import.meta.url);" },
    jsx: 'automatic',
    sourcemap: 'linked',
    logLevel: 'silent',
    plugins: [
      {
        // Paths stay those of the sources: templates, READMEs, starters and package.json are read from there.
        name: 'source-paths',
        setup(b) {
          b.onLoad({ filter: /\.(ts|tsx)$/ }, (args) => {
            // (Only this package's own dependencies are skipped: installed with npm, the sources themselves live
            // under a node_modules folder too, e.g. <prefix>/lib/node_modules/backend-labs/cli/main.ts.)
            if (args.path.startsWith(join(root, 'node_modules', ''))) return undefined;
            const text = readFileSync(args.path, 'utf8')
              .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
              .replaceAll('import.meta.filename', JSON.stringify(args.path))
              .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
            return { contents: text, loader: args.path.endsWith('.tsx') ? 'tsx' : 'ts' };
          });
        },
      },
    ],
  });
  writeFileSync(join(tmp, 'package.json'), '{"type":"module"}\n');
  try {
    renameSync(tmp, out);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another `labs` compiled the same sources first
  }
  // Drop caches of older sources (after an hour, so a `labs` still running from one keeps its files).
  const base = dirname(out);
  for (const name of readdirSync(base)) {
    const path = join(base, name);
    if (path !== out && Date.now() - statSync(path).mtimeMs > 3600_000) rmSync(path, { recursive: true, force: true });
  }
  return out;
}

/** The compiled CLI for the current sources, compiling it first if needed; undefined if that fails. */
export async function compiledCli(root) {
  try {
    const out = join(cacheDir(root), fingerprint(root));
    if (!existsSync(join(out, 'cli', 'main.js'))) {
      mkdirSync(cacheDir(root), { recursive: true });
      await compile(root, out);
    }
    return out;
  } catch (err) {
    if (process.env.LABS_DEBUG) process.stderr.write(`labs: could not compile the CLI, running the sources: ${err?.stack ?? err}\n`);
    return undefined;
  }
}
