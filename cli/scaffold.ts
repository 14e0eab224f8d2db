// `labs start`: template + the lab's starter overlay + the lab's README + labs.json, into a folder.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { GraderError } from '../grader/errors.ts';
import { MANIFEST, type Manifest } from '../grader/manifest.ts';
import type { Lab } from '../grader/types.ts';

export const ROOT = resolve(import.meta.dirname, '..');
export const TEMPLATES_DIR = join(ROOT, 'templates');
/** Files stored without their dot so packaging keeps them; renamed on scaffold. */
const DOTFILES: Record<string, string> = { gitignore: '.gitignore', dockerignore: '.dockerignore', 'dot-env': '.env' };

export interface ScaffoldOptions {
  lab: Lab;
  dir: string;
  template?: string;
  force?: boolean;
  /** Overlays laid on top of the starter, in order (tests use solution/ and mutants/). */
  overlays?: string[];
}

export interface ScaffoldResult {
  dir: string;
  files: string[];
  overwritten: string[];
  manifest: Manifest;
}

function listFiles(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full, base));
    else out.push(relative(base, full));
  }
  return out;
}

interface TemplateInfo {
  start: string;
  /**
   * The folder of each lab laid over this template: `starter` (the default) for the TypeScript template the
   * labs' starters are written for; another template names its own (`starter-python`), and a lab without
   * one gets the template's own base server, which fails every lab's first check.
   */
  starter?: string;
  /** The command of each further role of a lab with several processes (`{role}` is replaced), e.g. `npm run {role}`. */
  roleStart?: string;
}

function templateInfo(template: string): TemplateInfo {
  const file = join(TEMPLATES_DIR, template, 'template.json');
  if (!existsSync(file)) {
    const known = readdirSync(TEMPLATES_DIR).join(', ');
    throw new GraderError('USAGE', `There is no template "${template}". Templates: ${known}.`);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as TemplateInfo;
}

export function templateStart(template: string): string {
  return templateInfo(template).start;
}

/**
 * A lab's package.json only says what it adds (dependencies, scripts): it is merged into the one below it,
 * so the template's start script and tooling live in one place.
 */
function mergePackageJson(dest: string, overlay: string): void {
  const base = JSON.parse(readFileSync(dest, 'utf8')) as Record<string, unknown>;
  const extra = JSON.parse(readFileSync(overlay, 'utf8')) as Record<string, unknown>;
  for (const [key, value] of Object.entries(extra)) {
    const current = base[key];
    const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
    base[key] = isObject(current) && isObject(value) ? { ...(current as object), ...(value as object) } : value;
  }
  writeFileSync(dest, JSON.stringify(base, null, 2) + '\n');
}

export function scaffold(options: ScaffoldOptions): ScaffoldResult {
  const template = options.template ?? 'typescript';
  const allowed = options.lab.templates;
  if (allowed && !allowed.includes(template)) {
    throw new GraderError('USAGE', `Lab "${options.lab.id}" starts from a given app in ${allowed.join(' or ')}: \`--template ${template}\` does not apply to it. Run \`labs start ${options.lab.id}\` without --template.`);
  }
  const info = templateInfo(template);
  const start = info.start;
  const starterDir = join(options.lab.dir, info.starter ?? 'starter');
  const dir = resolve(options.dir);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new GraderError('USAGE', `${dir} exists and is not a folder.`);
    const present = readdirSync(dir);
    if (present.length > 0 && !options.force) {
      throw new GraderError(
        'USAGE',
        `${dir} is not empty (${present.length} entr${present.length === 1 ? 'y' : 'ies'}). Choose another folder, or pass --force to write the lab's files over it (files with other names are kept).`,
      );
    }
  }
  mkdirSync(dir, { recursive: true });
  const layers: { from: string; files: string[] }[] = [
    { from: join(TEMPLATES_DIR, template), files: listFiles(join(TEMPLATES_DIR, template)).filter((f) => f !== 'template.json') },
    { from: starterDir, files: listFiles(starterDir) },
    ...(options.overlays ?? []).map((o) => ({ from: o, files: listFiles(o).filter((f) => f !== 'mutant.json') })),
  ];
  const written = new Set<string>();
  const overwritten = new Set<string>();
  for (const layer of layers) {
    for (const file of layer.files) {
      const target = DOTFILES[file] ?? file;
      const dest = join(dir, target);
      if (existsSync(dest) && !written.has(target)) overwritten.add(target);
      mkdirSync(join(dest, '..'), { recursive: true });
      if (target === 'package.json' && written.has(target)) mergePackageJson(dest, join(layer.from, file));
      else cpSync(join(layer.from, file), dest);
      written.add(target);
    }
  }
  const readme = join(options.lab.dir, 'README.md');
  if (existsSync(readme)) {
    if (existsSync(join(dir, 'README.md')) && !written.has('README.md')) overwritten.add('README.md');
    cpSync(readme, join(dir, 'README.md'));
    written.add('README.md');
  }
  // A lab with several processes (roles): one command each; the first role is the server (the template's start).
  const roles = options.lab.roles ?? [];
  const manifest: Manifest = {
    lab: options.lab.id,
    template,
    start: roles.length > 1 ? Object.fromEntries(roles.map((r, i) => [r, i === 0 ? start : (info.roleStart ?? '{role}').replace('{role}', r)])) : start,
  };
  // A lab's other commands (a migration runner...): the starter's, which the learner may change. They are
  // written for the labs' own starters (TypeScript); another template runs a script of the command's name,
  // the way it runs each further role (`python3 -u migrate.py`).
  if (options.lab.commands && Object.keys(options.lab.commands).length) {
    const own = (info.starter ?? 'starter') === 'starter';
    manifest.commands = Object.fromEntries(Object.entries(options.lab.commands).map(([name, c]) => [name, own ? c.start : (info.roleStart ?? '{role}').replace('{role}', name)]));
  }
  if (existsSync(join(dir, MANIFEST)) && !written.has(MANIFEST)) overwritten.add(MANIFEST);
  writeFileSync(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  written.add(MANIFEST);
  return { dir, files: [...written].sort(), overwritten: [...overwritten].sort(), manifest };
}

