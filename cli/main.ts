// The `labs` command line. Each command lives in its own file and is loaded only when used.
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { capacity } from './grade/capacity.ts';
import { DEFAULT_SANDBOX } from '../grader/runtime/sandbox.ts';
import { GraderError } from '../grader/errors.ts';
import { EXIT } from './exit.ts';
import { suggest } from '../grader/suggest.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** Where the user ran the command (npm run changes the working directory to the package root). */
export function userCwd(): string {
  return process.env.npm_lifecycle_event === 'labs' && process.env.INIT_CWD ? process.env.INIT_CWD : process.cwd();
}

function positiveInt(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new GraderError('USAGE', `Expected ${name} to be a non-negative integer, got \`${value}\`.`);
    return n;
  };
}

export function buildProgram(): Command {
  const program = new Command('labs')
    .description('Hands-on backend labs with an automated grader.\nRun `labs` with no command in a terminal to browse the labs.')
    .version(pkg.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (str, write) => write(str) })
    .addHelpText(
      'after',
      `
Typical session:
  labs list                    see the labs
  labs start http-basics       scaffold ./http-basics
  cd http-basics && labs check grade your server

Exit codes: 0 passed, 1 a check failed, 2 your server could not run, 3 usage or environment error.
`,
    )
    .usage('[command] [options]')
    .allowExcessArguments(true)
    .action(async (_opts: unknown, cmd: Command) => {
      const command = cmd.args[0];
      if (command !== undefined) {
        const names = program.commands.map((c) => c.name());
        const close = suggest(command, names);
        program.error(`error: unknown command '${command}'${close ? `\n(Did you mean ${close}?)` : ''}\nRun \`labs --help\` to see the commands.`, { exitCode: EXIT.usage });
      }
      const { runHome } = await import('./commands/home.ts');
      process.exitCode = await runHome(userCwd());
    });

  program
    .command('list')
    .description('list the labs, grouped by track')
    .option('--json', 'print the catalogue as JSON')
    .action(async (opts: { json?: boolean }) => {
      const { runList } = await import('./commands/list.ts');
      process.exitCode = await runList(opts);
    });

  program
    .command('start')
    .description('scaffold a lab into a folder (default ./<lab>)')
    .argument('<lab>', 'lab id, e.g. http-basics (see `labs list`)')
    .argument('[dir]', 'target folder (default: ./<lab>)')
    .option('-f, --force', 'write into a non-empty folder (lists every file it replaces)')
    .option('--no-install', 'skip `npm install` in the new folder')
    .option('-t, --template <name>', 'starter template: typescript (Node 20 + TypeScript, node:http) or python (Python 3 standard library, http.server); labs.json remembers it', 'typescript')
    .action(async (lab: string, dir: string | undefined, opts: { force?: boolean; install: boolean; template: string }) => {
      const { runStart } = await import('./commands/start.ts');
      process.exitCode = await runStart(lab, dir, opts, userCwd());
    });

  program
    .command('check')
    .description('start your server, probe it, and grade it (run inside a lab folder)')
    .option('-a, --all', 'run every check instead of stopping at the first failure')
    .option('-o, --only <check...>', 'run only these checks (ids from `labs info <lab>`)')
    .option('-s, --seed <n>', 'replay a run with the same random inputs', positiveInt('--seed'))
    .option('--json', 'print results as JSON (Exercism v3 + score) and nothing else')
    .option('--junit <file>', "also write the results as JUnit XML to <file> (one testcase per check, a failed check's details as its text), for CI test reports; combines with --json")
    .option('-v, --verbose', "stream your server's output while checking")
    .addOption(new Option('--ready-timeout <seconds>', 'how long your server may take to start listening').argParser(positiveInt('--ready-timeout')))
    .option('-C, --dir <path>', 'the lab folder (default: the current folder or a parent)')
    .option('-w, --watch', 're-run the checks on every save in the lab folder (Ctrl-C stops)')
    .addOption(new Option('--runtime <name>', 'where your server runs: a local process, or a container built from your Dockerfile').choices(['local', 'docker']).default('local'))
    .addHelpText(
      'after',
      `
On GitHub Actions (GITHUB_ACTIONS=true), each failed check is also printed as a workflow command,
  ::error title=<check id>::<message>
which GitHub shows as an annotation on the run and the pull request (on stderr with --json).`,
    )
    .action(async (opts) => {
      if (process.env.LABS_PROFILE) process.stderr.write(`[profile] ${Math.round(performance.now())} ms check command\n`);
      // The learner's server first (when its lab's env is known without loading the lab), then the rest.
      const { startServerEarly } = await import('./early-start.ts');
      const early = await startServerEarly(opts, userCwd());
      const { runCheck } = await import('./commands/check.ts');
      process.exitCode = await runCheck({ ...opts, early }, userCwd());
    });

  const grade = program
    .command('grade')
    .description('grade a whole class: every submission sandboxed in a container, a gradebook (CSV, JSON, HTML) at the end')
    .usage('--lab <id> [options] <submissions...>')
    .argument('[submissions...]', 'lab folders, a folder of lab folders, or a CSV of name,url (git URLs, cloned into --work)')
    .option('-l, --lab <id>', 'the lab to grade (see `labs list`)')
    .option('-o, --out <dir>', 'where the gradebook and the state file go (default ./grades-<lab>)')
    .option('-j, --jobs <n>', 'submissions graded at once (default: what this machine holds, see below)', positiveInt('--jobs'))
    .option('--shard <i/N>', 'grade only the i-th of N deterministic slices (students sorted by name, every N-th); join with `labs grade merge`')
    .option('-s, --seed <n>', 'one seed for every student (default: a seed per student, fixed by lab and name)', positiveInt('--seed'))
    .option('--time-limit <seconds>', 'how long one submission may take, build to teardown (default 300)', positiveInt('--time-limit'))
    .addOption(new Option('--ready-timeout <seconds>', 'how long a server may take to start listening (default 60)').argParser(positiveInt('--ready-timeout')))
    .option('--memory <MiB>', 'memory limit per submission (default 512; no swap)', positiveInt('--memory'))
    .option('--cpus <n>', 'CPUs per submission (default 1)', (v: string) => {
      const n = Number(v);
      if (!(n > 0)) throw new GraderError('USAGE', `Expected --cpus to be a positive number, got \`${v}\`.`);
      return n;
    })
    .option('--pids <n>', 'processes/threads per submission (default 128)', positiveInt('--pids'))
    .option('--work <dir>', 'where CSV submissions are cloned (default <out>/work)')
    .option('--fresh', 'forget the state file and grade everyone again')
    .addHelpText('after', () => gradeHelp())
    .action(async (submissions: string[], opts: import('./commands/grade.ts').GradeOptions) => {
      if (!opts.lab) throw new GraderError('USAGE', 'labs grade: --lab <id> is required (see `labs list`).');
      const { runGrade } = await import('./commands/grade.ts');
      process.exitCode = await runGrade(submissions, opts, userCwd());
    });
  grade
    .command('merge')
    .description('join the gradebooks of `labs grade --shard i/N` runs into one')
    .argument('<gradebooks...>', 'gradebook.json files, or the output folders holding them')
    .option('-o, --out <dir>', 'where the joined gradebook goes (default ./grades-<lab>)')
    .action(async (books: string[], opts: { out?: string }) => {
      const { runGradeMerge } = await import('./commands/grade.ts');
      // `-o` after `merge` is parsed by `grade` (it has the same option): take it from there.
      process.exitCode = await runGradeMerge(books, { out: opts.out ?? (grade.opts() as { out?: string }).out }, userCwd());
    });

  program
    .command('down')
    .description('stop and remove the containers `labs check` keeps warm (PostgreSQL, Redis) and anything a killed run left')
    .action(async () => {
      const { runDown } = await import('./commands/down.ts');
      process.exitCode = await runDown();
    });

  const ci = program.command('ci').description('continuous integration: grade a lab folder on GitHub Actions, points for GitHub Classroom');
  ci.command('init')
    .description('write .github/workflows/classroom.yml: runs `labs check` on every push and reports the points to GitHub Classroom')
    .option('-C, --dir <path>', 'the lab folder (default: the current folder or a parent)')
    .option('-f, --force', 'replace an existing workflow file')
    .option('--print', 'print the workflow instead of writing it')
    .option('--package <spec>', 'what the workflow installs with `npm install --global` (default: backend-labs@<this version>)')
    .action(async (opts: { dir?: string; force?: boolean; print?: boolean; package?: string }) => {
      const { runCiInit } = await import('./commands/ci.ts');
      process.exitCode = await runCiInit(opts, userCwd());
    });
  ci.command('result')
    .description('(a step of that workflow) turn `labs check --json` output into the `result` output GitHub Classroom reads')
    .argument('<file>', 'what `labs check --all --json` printed')
    .addOption(new Option('--exit-code <n>', "labs check's exit code").argParser(positiveInt('--exit-code')))
    .addOption(new Option('--max-score <n>', "the lab's number of checks, for when labs check could not grade").argParser(positiveInt('--max-score')))
    .action(async (file: string, opts: { exitCode?: number; maxScore?: number }) => {
      const { runCiResult } = await import('./commands/ci.ts');
      process.exitCode = await runCiResult(file, opts, userCwd());
    });

  program
    .command('doctor')
    .description('check your setup: Node version, Docker engine, service images, free disk')
    .action(async () => {
      const { runDoctor } = await import('./commands/doctor.ts');
      process.exitCode = await runDoctor();
    });

  program
    .command('hint')
    .description('show the hint for a check (default: the first check that failed last time)')
    .argument('[check]', 'check id')
    .option('-C, --dir <path>', 'the lab folder (default: the current folder or a parent)')
    .action(async (check: string | undefined, opts: { dir?: string }) => {
      const { runHint } = await import('./commands/hint.ts');
      process.exitCode = await runHint(check, opts, userCwd());
    });

  program
    .command('info')
    .description("show a lab's summary, questions, services, env knobs and checks")
    .argument('<lab>', 'lab id')
    .action(async (lab: string) => {
      const { runInfo } = await import('./commands/info.ts');
      process.exitCode = await runInfo(lab);
    });

  program
    .command('progress')
    .description('your results so far: every lab, its status, best run, runs, when you passed it')
    .option('--json', 'print it as JSON')
    .action(async (opts: { json?: boolean }) => {
      const { runProgress } = await import('./commands/progress.ts');
      process.exitCode = await runProgress(opts, userCwd());
    });

  program
    .command('questions')
    .description('the 50 interview questions, the labs that cover each, and which you are ready for')
    .option('--json', 'print them as JSON')
    .action(async (opts: { json?: boolean }) => {
      const { runQuestions } = await import('./commands/questions.ts');
      process.exitCode = await runQuestions(opts);
    });

  program
    .command('reset')
    .description("start a lab over: backs up your folder, writes a fresh starter, clears the lab's progress (asks first)")
    .argument('<lab>', 'lab id')
    .option('-y, --yes', 'do not ask (needed when not in a terminal)')
    .option('-C, --dir <path>', 'the lab folder (default: where it was started)')
    .option('--no-install', 'skip `npm install` when node_modules cannot be moved over')
    .action(async (lab: string, opts: { yes?: boolean; dir?: string; install: boolean }) => {
      const { runReset } = await import('./commands/reset.ts');
      process.exitCode = await runReset(lab, opts, userCwd());
    });

  program
    .command('solution')
    .description('show the reference solution of a lab you passed')
    .argument('<lab>', 'lab id')
    .option('-f, --force', 'show it before you passed (with a warning)')
    .action(async (lab: string, opts: { force?: boolean }) => {
      const { runSolution } = await import('./commands/solution.ts');
      process.exitCode = await runSolution(lab, opts);
    });

  return program;
}

/** `labs grade --help`: the sandbox, and the default --jobs as computed on this machine. */
function gradeHelp(): string {
  const c = capacity(DEFAULT_SANDBOX);
  return `
Each submission is untrusted code: built from its Dockerfile and run as with \`labs check --runtime docker\`,
with a memory limit (no swap), CPU and pids limits, a read-only root with a 64 MiB tmpfs at /tmp, every
capability dropped, no-new-privileges, and an internal Docker network of its own (its services and the
grader only: no other submission, nothing off this machine). A bomb, a hang or a crash is that student's
failure; the rest of the class is graded normally.

--jobs default: min(2 x cores, (free memory - 1 GiB) / (memory limit + 192 MiB))
  = ${c.explain}.
  A job waits on Docker (build cache, create, teardown) much of its time, so a core holds two; measured
  on 2 cores with 20 http-basics submissions: 1 job 6.2/min, 2 jobs 8.2/min, 4 jobs 13.1/min (docs/classroom.md).

Resumable: Ctrl-C stops and tears down the running submissions; the finished ones are in
<out>/grade-state.jsonl, and the same command again grades only the rest (--fresh starts over).

Examples:
  labs grade --lab http-basics submissions/            every lab folder under submissions/
  labs grade --lab http-basics class.csv --jobs 4      name,url rows, cloned into grades-http-basics/work
  labs grade --lab http-basics class.csv --shard 2/4   one of four slices (CI matrix, Kubernetes Indexed Job)
  labs grade merge shard-*/gradebook.json -o grades    join the slices
See docs/classroom.md.`;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    for (const sub of cmd.commands) override(sub); // `labs ci init` is two levels down
  };
  override(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.pass;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.pass;
      return EXIT.usage; // commander already printed the message
    }
    if (err instanceof GraderError) {
      process.stderr.write(`labs: ${err.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`labs: internal error, this is a bug in backend-labs:\n${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT.bug;
  }
}
