// defineLab: a lab is typed data, validated when it is loaded so a mistake names the lab and the field.
import { withBuiltinChecks } from './builtin-checks.ts';
import { describeValue, GraderError } from './errors.ts';
import { DIFFICULTIES, SERVICES, TRACKS, type Lab, type LabDefinition } from './types.ts';

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

/** Declares a lab. `dir` is the lab's folder (pass `import.meta.dirname`). */
export function defineLab(definition: LabDefinition, dir: string): Lab {
  validateLab(definition);
  return { ...definition, checks: withBuiltinChecks(definition), services: definition.services ?? [], env: definition.env ?? {}, dir };
}

export function validateLab(def: LabDefinition): void {
  const name = typeof def?.id === 'string' && def.id ? def.id : '(no id)';
  const fail = (field: string, expected: string, value: unknown): never => {
    throw new GraderError('LAB_INVALID', `Lab "${name}": expected \`${field}\` to be ${expected}, got ${describeValue(value)}.`);
  };
  if (typeof def !== 'object' || def === null) fail('definition', 'an object', def);
  if (typeof def.id !== 'string' || !KEBAB.test(def.id)) fail('id', 'a kebab-case string', def.id);
  for (const field of ['title', 'summary'] as const) {
    if (typeof def[field] !== 'string' || def[field].trim() === '') fail(field, 'a non-empty string', def[field]);
  }
  if (!TRACKS.includes(def.track)) fail('track', `one of ${TRACKS.join(', ')}`, def.track);
  if (!DIFFICULTIES.includes(def.difficulty)) fail('difficulty', `one of ${DIFFICULTIES.join(', ')}`, def.difficulty);
  if (!Number.isInteger(def.estimatedMinutes) || def.estimatedMinutes <= 0) fail('estimatedMinutes', 'a positive integer', def.estimatedMinutes);
  if (!Array.isArray(def.questions) || def.questions.length === 0) fail('questions', 'a non-empty array of question numbers', def.questions);
  def.questions.forEach((q, i) => {
    if (!Number.isInteger(q) || q < 1 || q > 50) fail(`questions[${i}]`, 'an integer from 1 to 50', q);
  });
  if (new Set(def.questions).size !== def.questions.length) fail('questions', 'free of duplicates', def.questions);
  if (def.roles !== undefined) {
    if (!Array.isArray(def.roles) || def.roles.length === 0) fail('roles', 'a non-empty array of role names', def.roles);
    def.roles.forEach((r, i) => {
      if (typeof r !== 'string' || !/^[a-z][a-z0-9-]*$/.test(r)) fail(`roles[${i}]`, 'a role name of lowercase letters, digits and -', r);
    });
    if (new Set(def.roles).size !== def.roles.length) fail('roles', 'distinct role names', def.roles);
  }
  if (def.replicas !== undefined) {
    if (!Number.isInteger(def.replicas) || def.replicas < 2 || def.replicas > 8) fail('replicas', 'an integer from 2 to 8', def.replicas);
    if ((def.roles?.length ?? 0) > 1) fail('replicas', 'no roles besides the server (a lab has replicas or roles, not both)', def.roles);
  }
  if (def.network !== undefined && def.network !== false) {
    if (def.network !== true) fail('network', 'true or false', def.network);
    if (!((def.replicas ?? 1) > 1 || (def.roles?.length ?? 0) > 1)) fail('network', 'replicas or roles (a network needs two processes or more)', def.network);
  }
  if (def.networkAtStart !== undefined) {
    if (typeof def.networkAtStart !== 'function') fail('networkAtStart', 'a function (net) => void', def.networkAtStart);
    if (def.network !== true) fail('networkAtStart', 'a lab with `network: true`', def.networkAtStart);
  }
  if (def.services !== undefined) {
    if (!Array.isArray(def.services)) fail('services', 'an array', def.services);
    def.services.forEach((s, i) => {
      if (!SERVICES.includes(s)) fail(`services[${i}]`, `one of ${SERVICES.join(', ')}`, s);
    });
  }
  if (def.postgres?.template !== undefined) {
    const t = def.postgres.template;
    if (!def.services?.includes('postgres')) fail('postgres.template', "services: ['postgres']", def.services);
    if (typeof t.name !== 'string' || !/^[a-z][a-z0-9_]{0,30}$/.test(t.name)) fail('postgres.template.name', 'lowercase letters, digits and _ (at most 31)', t.name);
    if (!Array.isArray(t.seed) || t.seed.length === 0 || !t.seed.every((x) => typeof x === 'string' && x.trim())) fail('postgres.template.seed', 'a non-empty array of SQL statements', t.seed);
  }
  if (def.env !== undefined) {
    if (typeof def.env !== 'object' || def.env === null) fail('env', 'an object', def.env);
    for (const [key, knob] of Object.entries(def.env)) {
      if (!ENV_NAME.test(key)) fail(`env.${key}`, 'an UPPER_SNAKE_CASE name', key);
      if (typeof knob?.description !== 'string' || !knob.description) fail(`env.${key}.description`, 'a non-empty string', knob?.description);
      if (typeof knob.value !== 'string' && typeof knob.value !== 'function') fail(`env.${key}.value`, 'a string or a function of the run\'s random', knob.value);
    }
  }
  if (def.commands !== undefined) {
    if (typeof def.commands !== 'object' || def.commands === null) fail('commands', 'an object', def.commands);
    for (const [name, cmd] of Object.entries(def.commands)) {
      if (!/^[a-z][a-z0-9-]*$/.test(name)) fail(`commands.${name}`, 'a name of lowercase letters, digits and -', name);
      if (typeof cmd?.description !== 'string' || !cmd.description) fail(`commands.${name}.description`, 'a non-empty string', cmd?.description);
      if (typeof cmd.start !== 'string' || !cmd.start.trim()) fail(`commands.${name}.start`, 'a non-empty command', cmd.start);
    }
  }
  if (def.malformedRequests !== undefined && def.malformedRequests !== false) {
    const m = def.malformedRequests;
    if (typeof m !== 'object' || m === null) fail('malformedRequests', 'false or { paths }', m);
    if (m.paths !== undefined && (!Array.isArray(m.paths) || !m.paths.every((p) => typeof p === 'string' && p.startsWith('/')))) fail('malformedRequests.paths', 'an array of paths starting with /', m.paths);
    if (m.before !== undefined && !def.checks?.some?.((c) => c?.id === m.before)) fail('malformedRequests.before', 'the id of one of the lab\'s checks', m.before);
  }
  if (def.readyTimeoutMs !== undefined && (!Number.isInteger(def.readyTimeoutMs) || def.readyTimeoutMs <= 0)) {
    fail('readyTimeoutMs', 'a positive integer', def.readyTimeoutMs);
  }
  if (!Array.isArray(def.checks) || def.checks.length === 0) fail('checks', 'a non-empty array', def.checks);
  const seen = new Set<string>();
  def.checks.forEach((c, i) => {
    const at = `checks[${i}]`;
    if (typeof c?.id !== 'string' || !KEBAB.test(c.id)) fail(`${at}.id`, 'a kebab-case string', c?.id);
    if (seen.has(c.id)) fail(`${at}.id`, 'unique within the lab', c.id);
    seen.add(c.id);
    if (typeof c.title !== 'string' || !c.title.trim()) fail(`${at}.title`, 'a non-empty string', c.title);
    if (typeof c.hint !== 'string' || !c.hint.trim()) fail(`${at}.hint`, 'a non-empty string', c.hint);
    if (c.timeoutMs !== undefined && (!Number.isInteger(c.timeoutMs) || c.timeoutMs <= 0)) fail(`${at}.timeoutMs`, 'a positive integer', c.timeoutMs);
    if (typeof c.run !== 'function') fail(`${at}.run`, 'an async function (ctx) => void', c.run);
  });
}

/** What a run of the lab starts of the learner's, in a few words (for `labs info` and the terminal UI). */
export function describeRuns(lab: Pick<LabDefinition, 'roles' | 'replicas' | 'runtime'>): string {
  if (lab.runtime === 'docker') return 'your Dockerfile, built and run in Docker';
  if (lab.replicas && lab.replicas > 1) return `${lab.replicas} replicas of your server, behind the grader's load balancer`;
  if (lab.roles && lab.roles.length > 1) return `your processes: ${lab.roles.join(', ')}`;
  return 'your server';
}
