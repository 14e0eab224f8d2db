// `labs ci init`: a GitHub Actions workflow for a lab folder that runs `labs check` on every push and reports
// the points as GitHub Classroom's autograding reads them; `labs ci result`: the step of that workflow that
// turns `labs check --json` into a Classroom runner result. See docs/classroom-ci.md.
//
// How Classroom reads points (classroom-resources/autograding-grading-reporter): each grading step (a
// "runner") sets a step output `result`, base64 of JSON { version: 1, status, max_score, tests: [{ name,
// status, score, message, ... }] }; the reporter step gets each one in an env var `<RUNNER ID>_RESULTS`
// (upper-cased) and `runners: <id,...>`, adds up `tests[].score` against `max_score`, prints the table, and
// writes "Points X/Y" to the check run of the job `run-autograding-tests`, where Classroom picks it up.
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { GraderError } from '../../grader/errors.ts';
import { loadManifest } from '../../grader/manifest.ts';
import { IMAGES } from '../../grader/services/images.ts';
import type { JsonResult } from '../../grader/report/json.ts';
import { loadLab } from '../../labs/index.ts';

/** The step id of the grading step, and so the reporter's runner name (its env var: LABS_RESULTS). */
export const RUNNER_ID = 'labs';
/** GitHub Classroom's reporter updates the check run of the job with this id: keep it. */
export const JOB_ID = 'run-autograding-tests';
export const WORKFLOW_FILE = join('.github', 'workflows', 'classroom.yml');
/** A result is passed between steps as a step output (1 MB per job in all): keep each message short. */
const MESSAGE_LIMIT = 2000;

export interface CiInitOptions {
  dir?: string;
  force?: boolean;
  /** Print the workflow instead of writing it. */
  print?: boolean;
  /** What `npm install --global` installs on the runner (default: this version of backend-labs). */
  package?: string;
}

interface WorkflowInput {
  lab: { id: string; title: string; checks: number; services: string[] };
  template: string;
  /** The lab folder relative to the repository root ('' when it is the root). */
  workingDirectory: string;
  labsPackage: string;
  version: string;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The git repository root above `dir` (a `.git` folder or file), or undefined outside one. */
export function gitRoot(dir: string): string | undefined {
  let d = resolve(dir);
  while (true) {
    if (existsSync(join(d, '.git'))) return d;
    const parent = dirname(d);
    if (parent === d) return undefined;
    d = parent;
  }
}

const yamlString = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar

export function workflowYaml(input: WorkflowInput): string {
  const { lab, template } = input;
  const images = lab.services.map((s) => IMAGES[s as keyof typeof IMAGES]).filter(Boolean);
  const lines: string[] = [
    `# Written by \`labs ci init\` (backend-labs ${input.version}) for the lab ${lab.id}: ${lab.title}.`,
    '# GitHub Classroom autograding: on every push, `labs check` grades the server in this repository and',
    `# GitHub Classroom gets one point per passed check (${lab.checks} in all). docs/classroom-ci.md explains each step.`,
    'name: Autograding Tests',
    "'on':",
    '  push:',
    '  workflow_dispatch:',
    '  repository_dispatch:',
    'permissions:',
    '  checks: write',
    '  actions: read',
    '  contents: read',
    'jobs:',
    `  ${JOB_ID}:`,
    "    # Keep this job id and give the job no `name:`: Classroom's reporter writes the points to the check run of that name.",
    '    runs-on: ubuntu-latest',
    "    if: github.actor != 'github-classroom[bot]'",
    '    timeout-minutes: 30',
  ];
  if (input.workingDirectory) {
    lines.push('    defaults:', '      run:', `        working-directory: ${yamlString(input.workingDirectory)}`);
  }
  lines.push(
    '    steps:',
    '      - name: Check out the submission',
    '        uses: actions/checkout@v4',
    '      - name: Set up Node.js (the grader runs on it)',
    '        uses: actions/setup-node@v4',
    '        with:',
    "          node-version: '20'",
  );
  if (template === 'python') {
    lines.push('      - name: Set up Python', '        uses: actions/setup-python@v5', '        with:', "          python-version: '3.12'");
  }
  lines.push('      - name: Install the grader', `        run: npm install --global ${yamlString(input.labsPackage)}`);
  if (template === 'typescript') {
    lines.push('      - name: Install the server\'s dependencies', '        run: if [ -f package-lock.json ]; then npm ci; else npm install; fi');
  } else if (template === 'python') {
    lines.push('      - name: Install the server\'s dependencies', '        run: if [ -f requirements.txt ]; then python -m pip install -r requirements.txt; fi');
  } else {
    lines.push(`      # The lab folder was made from the template "${template}": install what its server needs here.`);
  }
  if (images.length) {
    // `labs check` starts the services itself (Docker is on GitHub's runners); pulling first keeps the
    // download out of the check's own time and shows it as a step of its own.
    lines.push(`      - name: Pull the service images (${lab.services.join(', ')})`, `        run: ${images.map((i) => `docker pull ${i}`).join(' && ')}`);
  }
  lines.push(
    '      - name: labs check',
    `        id: ${RUNNER_ID}`,
    '        run: |',
    '          set +e',
    '          labs check --all --json > "$RUNNER_TEMP/labs-check.json"',
    '          code=$?',
    `          labs ci result "$RUNNER_TEMP/labs-check.json" --exit-code "$code" --max-score ${lab.checks} >> "$GITHUB_OUTPUT"`,
    '      - name: Report the points to GitHub Classroom',
    '        uses: classroom-resources/autograding-grading-reporter@v1',
    '        env:',
    `          ${RUNNER_ID.toUpperCase()}_RESULTS: "\${{ steps.${RUNNER_ID}.outputs.result }}"`,
    '        with:',
    `          runners: ${RUNNER_ID}`,
  );
  return lines.join('\n') + '\n';
}

export async function runCiInit(opts: CiInitOptions, cwd: string, write: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { dir, manifest } = loadManifest(resolve(cwd, opts.dir ?? '.'));
  const lab = await loadLab(manifest.lab);
  const version = packageVersion();
  const root = gitRoot(dir) ?? dir;
  const workingDirectory = relative(root, dir).split(sep).join('/');
  const yaml = workflowYaml({
    lab: { id: lab.id, title: lab.title, checks: lab.checks.length, services: [...lab.services] },
    template: manifest.template,
    workingDirectory,
    labsPackage: opts.package ?? `backend-labs@${version}`,
    version,
  });
  if (opts.print) {
    write(yaml);
    return 0;
  }
  const file = join(root, WORKFLOW_FILE);
  const shown = relative(cwd, file) || file;
  const folder = dirname(file);
  for (let d = folder; d !== root && d.startsWith(root); d = dirname(d)) {
    if (existsSync(d) && !statSync(d).isDirectory()) throw new GraderError('USAGE', `${relative(cwd, d) || d} is a file, so the workflow cannot go in ${relative(cwd, folder)}. Move that file away and run \`labs ci init\` again.`);
  }
  if (existsSync(file)) {
    if (statSync(file).isDirectory()) throw new GraderError('USAGE', `${shown} is a folder, not a workflow file. Remove it, then run \`labs ci init\` again.`);
    if (!opts.force) {
      throw new GraderError(
        'USAGE',
        `${shown} already exists: not replacing a workflow you may have edited. ` +
          `See what it would be with \`labs ci init --print\`, or replace it with \`labs ci init --force\`.`,
      );
    }
  }
  mkdirSync(folder, { recursive: true });
  writeFileSync(file, yaml);
  const services = lab.services.length ? `; services ${lab.services.join(', ')} in Docker` : '';
  write(
    `Wrote ${shown} for ${lab.id} (${lab.checks.length} checks, one point each${services}).\n` +
      (workingDirectory ? `The lab is the folder ${workingDirectory} of the repository at ${root}: the workflow runs there.\n` : '') +
      'Commit and push it: GitHub runs `labs check` on every push, and GitHub Classroom reads the points\n' +
      '(see docs/classroom-ci.md; the workflow installs ' + (opts.package ?? `backend-labs@${version}`) + ' from npm, change it with --package).\n',
  );
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// The grading step: `labs check --json` -> a Classroom runner result

export interface ClassroomTest {
  name: string;
  status: 'pass' | 'fail' | 'error';
  score: number;
  message: string;
  test_code: string;
  filename: string;
  line_no: number;
  duration: number;
}

export interface ClassroomResult {
  version: 1;
  status: 'pass' | 'fail' | 'error';
  max_score: number;
  tests: ClassroomTest[];
}

const clip = (s: string) => (s.length > MESSAGE_LIMIT ? `${s.slice(0, MESSAGE_LIMIT)}\n... (cut here; the whole report is in the log of the "labs check" step, or run the test_code locally)` : s);

/** The Classroom result for the output of `labs check --json` (`text`), or for its absence (labs check could not grade). */
export function classroomResult(text: string, exitCode: number | undefined, maxScore: number): ClassroomResult {
  let json: JsonResult | undefined;
  try {
    const parsed = JSON.parse(text) as JsonResult;
    if (parsed && Array.isArray(parsed.tests) && typeof parsed.max_score === 'number') json = parsed;
  } catch {
    // below
  }
  if (!json) {
    const message = `labs check did not grade${exitCode !== undefined ? ` (exit code ${exitCode})` : ''}: its log above says why (not a lab folder, labs.json invalid, Docker missing...).`;
    return {
      version: 1,
      status: 'error',
      max_score: maxScore,
      tests: [{ name: 'labs check', status: 'error', score: 0, message, test_code: 'labs check --all', filename: '', line_no: 0, duration: 0 }],
    };
  }
  const tests: ClassroomTest[] = json.tests.map((t) => ({
    name: t.name,
    status: t.status,
    score: t.score,
    message: clip([t.message, t.hint ? `Hint: ${t.hint}` : undefined].filter(Boolean).join('\n\n')),
    test_code: t.test_code,
    filename: '',
    line_no: 0,
    duration: t.duration_ms,
  }));
  return { version: 1, status: json.status, max_score: json.max_score, tests };
}

/** One line for $GITHUB_OUTPUT: `result=<base64 of the JSON>` (base64 has no newline to escape). */
export function outputLine(result: ClassroomResult): string {
  return `result=${Buffer.from(JSON.stringify(result)).toString('base64')}\n`;
}

/** A Markdown table for the run's summary page ($GITHUB_STEP_SUMMARY). */
export function summaryMarkdown(result: ClassroomResult): string {
  const points = result.tests.reduce((s, t) => s + t.score, 0);
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const rows = result.tests.map((t) => `| ${t.status === 'pass' ? '✅' : '❌'} | ${cell(t.name)} | ${t.score} | \`${cell(t.test_code)}\` |`);
  return [`### labs check: ${points}/${result.max_score} points`, '', '| | Check | Points | Run it again |', '|---|---|---|---|', ...rows, ''].join('\n') + '\n';
}

export interface CiResultOptions {
  exitCode?: number;
  maxScore?: number;
}

export async function runCiResult(file: string, opts: CiResultOptions, cwd: string, env: NodeJS.ProcessEnv = process.env, write: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  let text = '';
  try {
    text = readFileSync(resolve(cwd, file), 'utf8');
  } catch {
    // no output at all: reported as an error result
  }
  const result = classroomResult(text, opts.exitCode, opts.maxScore ?? 0);
  write(outputLine(result));
  if (env.GITHUB_STEP_SUMMARY) {
    try {
      appendFileSync(env.GITHUB_STEP_SUMMARY, summaryMarkdown(result));
    } catch {
      // the summary is a nicety; the points matter
    }
  }
  // The step itself succeeds: the reporter step after it fails the job when a check failed.
  return 0;
}
