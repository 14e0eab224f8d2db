// labs.json: the small manifest `labs start` writes into a lab folder. `labs check` finds it by walking up.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describeValue, GraderError } from './errors.ts';

export const MANIFEST = 'labs.json';

export interface Manifest {
  /** Lab id, e.g. "http-basics". */
  lab: string;
  /** Template the folder was made from, e.g. "typescript". */
  template: string;
  /** Shell command that starts the server (it must listen on $PORT), or one command per role for a lab with several processes. */
  start: string | Record<string, string>;
  /** The lab's other commands (labs that declare `commands`), e.g. {"migrate": "npm run migrate"}. */
  commands?: Record<string, string>;
}

export function findManifest(from: string): string | undefined {
  let dir = resolve(from);
  while (true) {
    const candidate = join(dir, MANIFEST);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function readManifest(path: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new GraderError('MANIFEST_INVALID', `${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const m = raw as Partial<Manifest>;
  const start = m?.start;
  if (typeof start === 'object' && start !== null && !Array.isArray(start)) {
    for (const [role, command] of Object.entries(start)) {
      if (typeof command !== 'string' || !command.trim()) throw new GraderError('MANIFEST_INVALID', `${path}: expected \`start.${role}\` to be a non-empty command, got ${describeValue(command)}.`);
    }
    if (Object.keys(start).length === 0) throw new GraderError('MANIFEST_INVALID', `${path}: expected \`start\` to name at least one command.`);
  }
  if (m?.commands !== undefined) {
    const c = m.commands;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new GraderError('MANIFEST_INVALID', `${path}: expected \`commands\` to be an object of commands by name, got ${describeValue(c)}.`);
    for (const [name, command] of Object.entries(c)) {
      if (typeof command !== 'string' || !command.trim()) throw new GraderError('MANIFEST_INVALID', `${path}: expected \`commands.${name}\` to be a non-empty command, got ${describeValue(command)}.`);
    }
  }
  for (const field of ['lab', 'template', ...(typeof start === 'object' && start !== null && !Array.isArray(start) ? [] : ['start' as const])] as const) {
    if (typeof m?.[field] !== 'string' || !m[field]!.trim()) {
      throw new GraderError('MANIFEST_INVALID', `${path}: expected \`${field}\` to be a non-empty string, got ${describeValue(m?.[field])}.`);
    }
  }
  return m as Manifest;
}

/** The manifest of the lab folder containing `cwd`, or a usage error that says what to do. */
export function loadManifest(cwd: string): { path: string; dir: string; manifest: Manifest } {
  const path = findManifest(cwd);
  if (!path) {
    throw new GraderError(
      'MANIFEST_NOT_FOUND',
      `No ${MANIFEST} here or in any parent folder of ${resolve(cwd)}: this is not a lab folder.\n` +
        `Create one with \`labs start <lab>\` (see \`labs list\`), then run \`labs check\` inside it.`,
    );
  }
  return { path, dir: dirname(path), manifest: readManifest(path) };
}
