// `npm start` without npm: when the start command is an npm script with no pre/post hooks, run the
// script's own command through a shell, as npm would (node_modules/.bin on PATH, the npm_* variables a
// script sees), and save npm's own start-up (about 0.2-0.3 s) on every run and every watch cycle.
// npm is kept whenever its semantics matter: hooks (prestart/poststart), arguments after the script
// name, an .npmrc that changes how scripts run, a missing script, or LABS_NO_NPM_SHORTCUT=1.
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, parse } from 'node:path';

export interface DirectScript {
  /** The script's own command line, run with `sh -c` like npm does. */
  command: string;
  /** Variables to add to the server's env (PATH included). */
  env: Record<string, string>;
  /** The npm script name, e.g. `start`. */
  script: string;
}

const NPM_SCRIPT = /^npm\s+(?:(start|test|restart|stop)|(?:run|run-script|rum|urn)\s+([A-Za-z0-9:_.-]+))\s*$/;
/** .npmrc settings that change how a script runs: with any of them, npm itself runs the script. */
const NPMRC_RELEVANT = /^\s*(script-shell|node-options|ignore-scripts|shell|scripts-prepend-node-path|prefix|workspaces?)\s*=/m;

export function npmShortcutDisabled(env: Record<string, string | undefined> = process.env): boolean {
  const v = env.LABS_NO_NPM_SHORTCUT;
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

/** The npm-CLI entry of the running Node's npm, when it is where Node's installers put it. */
function npmExecPath(): string | undefined {
  const prefix = dirname(dirname(process.execPath));
  for (const candidate of [join(prefix, 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'), join(dirname(process.execPath), 'node_modules', 'npm', 'bin', 'npm-cli.js')]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}
let cachedExecPath: string | undefined | null = null;

/**
 * The command npm would run for `command` in `cwd`, or undefined when npm must run it itself.
 * `env` is the server's env (its PATH is extended).
 */
export function directNpmScript(command: string, cwd: string, env: Record<string, string | undefined>): DirectScript | undefined {
  const m = NPM_SCRIPT.exec(command.trim());
  if (!m) return undefined;
  const script = m[1] ?? m[2];
  if (script === 'restart' || script === 'stop') return undefined; // npm restart runs stop+start: keep npm
  let pkg: { name?: unknown; version?: unknown; scripts?: Record<string, unknown>; workspaces?: unknown };
  const pkgPath = join(cwd, 'package.json');
  try {
    pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
  } catch {
    return undefined;
  }
  const scripts = pkg.scripts ?? {};
  const body = scripts[script];
  if (typeof body !== 'string' || body.trim() === '') return undefined; // npm's defaults (`node server.js`) stay npm's
  if (scripts[`pre${script}`] !== undefined || scripts[`post${script}`] !== undefined) return undefined;
  if (pkg.workspaces !== undefined) return undefined;
  try {
    if (NPMRC_RELEVANT.test(readFileSync(join(cwd, '.npmrc'), 'utf8'))) return undefined;
  } catch {
    // no project .npmrc
  }
  // npm puts node_modules/.bin of the package and of every folder above it first on PATH.
  const bins: string[] = [];
  for (let dir = cwd; ; dir = dirname(dir)) {
    bins.push(join(dir, 'node_modules', '.bin'));
    if (dir === parse(dir).root || dirname(dir) === dir) break;
  }
  const pathKey = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
  if (cachedExecPath === null) cachedExecPath = npmExecPath();
  const vars: Record<string, string> = {
    [pathKey]: [...bins, env[pathKey] ?? ''].filter(Boolean).join(delimiter),
    npm_lifecycle_event: script,
    npm_lifecycle_script: body,
    npm_command: script === 'start' || script === 'test' ? script : 'run-script',
    npm_package_json: pkgPath,
    npm_node_execpath: process.execPath,
    NODE: process.execPath,
    INIT_CWD: cwd,
  };
  if (typeof pkg.name === 'string') vars.npm_package_name = pkg.name;
  if (typeof pkg.version === 'string') vars.npm_package_version = pkg.version;
  if (cachedExecPath) vars.npm_execpath = cachedExecPath;
  return { command: body, env: vars, script };
}
