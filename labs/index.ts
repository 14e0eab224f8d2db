// The catalogue: every folder labs/<id>/ with a lab.ts. Order follows shared/LABS.md; a lab not listed
// there yet sorts after the listed ones of its track.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GraderError } from '../grader/errors.ts';
import { suggest } from '../grader/suggest.ts';
import { TRACKS, type Lab } from '../grader/types.ts';

export const LABS_DIR = import.meta.dirname;

const ORDER = [
  'http-basics', 'rest-api', 'error-handling', 'middleware-logging', 'config',
  'put-vs-patch', 'idempotency-keys', 'api-versioning', 'graphql',
  'rate-limit', 'sessions', 'jwt-auth', 'oauth2-server', 'csrf', 'file-uploads', 'webhooks', 'api-hardening',
  'sql-crud', 'transactions', 'indexing', 'migrations', 'orm-relations', 'caching', 'polyglot-persistence',
  'background-jobs', 'message-queue', 'websocket-chat', 'live-updates',
  'reverse-proxy', 'load-balancer', 'stateless-scaling', 'containerize', 'microservices', 'replicated-kv',
];

export function labIds(): string[] {
  return readdirSync(LABS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(LABS_DIR, d.name, 'lab.ts')))
    .map((d) => d.name);
}

export async function loadLab(id: string): Promise<Lab> {
  const ids = labIds();
  if (!ids.includes(id)) {
    const close = suggest(id, ids);
    throw new GraderError('LAB_UNKNOWN', `There is no lab "${id}".${close ? ` Did you mean "${close}"?` : ''} Run \`labs list\` to see them all.`);
  }
  // bin/labs.js sets this when it runs the compiled CLI: the compiled lab shares its engine modules.
  const compiled = (globalThis as { __BACKEND_LABS_COMPILED__?: string }).__BACKEND_LABS_COMPILED__;
  const file = compiled ? join(compiled, 'labs', id, 'lab.js') : join(LABS_DIR, id, 'lab.ts');
  const mod = (await import(pathToFileURL(file).href)) as { default?: Lab };
  const lab = mod.default;
  if (!lab || lab.id !== id) {
    throw new GraderError('LAB_INVALID', `labs/${id}/lab.ts must \`export default defineLab({ id: '${id}', ... }, import.meta.dirname)\`.`);
  }
  return lab;
}

export async function loadLabs(): Promise<Lab[]> {
  const labs = await Promise.all(labIds().map((id) => loadLab(id)));
  const rank = (id: string) => {
    const i = ORDER.indexOf(id);
    return i < 0 ? ORDER.length : i;
  };
  return labs.sort((a, b) => TRACKS.indexOf(a.track) - TRACKS.indexOf(b.track) || rank(a.id) - rank(b.id) || a.id.localeCompare(b.id));
}
