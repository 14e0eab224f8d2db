// Plain/colour terminal reporter: subscribes to RunEvents and writes lines as they happen.
import { describeRequest, describeResponse, toCurl } from '../probe/exchange.ts';
import { cutLine, type CheckResult, type RunEvent, type RunResult } from '../events.ts';
import { palette, type Palette } from './colour.ts';

export interface TextReporterOptions {
  write: (text: string) => void;
  colour: boolean;
  /** Stream every line the server prints, not only on failure. */
  verbose?: boolean;
}

export const SERVER_PREFIX = '[your server]';

export function textReporter(options: TextReporterOptions): (event: RunEvent) => void {
  const c = palette(options.colour);
  const out = (line = '') => options.write(line + '\n');
  return (event) => {
    switch (event.type) {
      case 'run-start':
        out(`${c.bold(event.lab.title)} ${c.dim(`(${event.lab.id}) · ${event.checks.length} ${event.checks.length === 1 ? 'check' : 'checks'} · seed ${event.seed}`)}`);
        break;
      case 'service':
        if (event.state === 'starting') out(c.dim(`Starting ${event.name}...`));
        else out(c.dim(`${event.name} ready${event.ms !== undefined ? ` in ${event.ms} ms` : ''}`));
        break;
      case 'server-start':
        out(c.dim(`Starting your server: ${event.command} (PORT=${event.port})`));
        break;
      case 'server-ready':
        out(c.dim(`Your server is listening (${event.ms} ms)`));
        break;
      case 'server-waiting':
        // Plain output is a log: at 2 s, then every 5 s (the live view ticks on its own).
        if (shouldSayWaiting(event.ms)) out(c.dim(waitingMessage(event)));
        break;
      case 'server-output':
        if (options.verbose) out(c.dim(`${SERVER_PREFIX} ${cutLine(event.line)}`));
        break;
      case 'check-end':
        out(formatCheck(event.result, c, event.index, event.total));
        break;
      case 'run-end':
        out(formatSummary(event.result, c, options.verbose));
        break;
    }
  };
}

/** Plain output says "still waiting" at about 2 s and then every 5 s. */
export function shouldSayWaiting(ms: number): boolean {
  const s = Math.round(ms / 1000);
  return s === 2 || (s >= 5 && s % 5 === 0);
}

export function waitingMessage(event: { ms: number; port: number; lastLine?: string }): string {
  const head = `Still waiting for your server to listen on port ${event.port} (${Math.round(event.ms / 1000)} s)`;
  return event.lastLine === undefined ? `${head}; it has printed nothing yet.` : `${head}; its last line: ${cutLine(event.lastLine, 200)}`;
}

function indent(text: string, n = 6): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l ? pad + l : l))
    .join('\n');
}

export function formatCheck(r: CheckResult, c: Palette, index?: number, total?: number): string {
  const pos = index !== undefined && total !== undefined ? c.dim(`[${index + 1}/${total}] `) : '';
  const time = c.dim(`(${r.durationMs} ms)`);
  const notes = (r.notes ?? []).map((n) => c.dim(`    · ${n}`));
  if (r.status === 'pass') return [`${c.green('✓')} ${pos}${r.title} ${time}`, ...notes].join('\n');
  if (r.status === 'skip') return `${c.dim('-')} ${pos}${c.dim(r.title)}`;
  const lines = [`${c.red('✗')} ${pos}${c.bold(r.title)} ${c.dim(`[${r.id}]`)} ${time}`];
  const f = r.failure;
  if (f) {
    lines.push(indent(f.message, 4));
    if (f.exchange) {
      lines.push(c.dim('    Sent:'), indent(describeRequest(f.exchange.request)));
    }
    if (f.expected) lines.push(c.dim('    Expected:'), indent(f.expected));
    if (f.received) lines.push(c.dim('    Received:'), indent(f.received));
    else if (f.exchange?.response) lines.push(c.dim('    Received:'), indent(describeResponse(f.exchange.response)));
    if (f.transcript) lines.push(c.dim(`    ${f.transcriptTitle ?? 'Transcript (ms since the first connection; > sent, < received)'}:`), indent(f.transcript));
    if (f.exchange) {
      const port = new URL(f.exchange.request.url).port;
      lines.push(c.dim(`    Reproduce (with your server running: ${r.reproduceStart ?? `PORT=${port} npm start`}):`), indent(c.cyan(toCurl(f.exchange.request))));
    } else if (f.reproduce) {
      const port = /:(\d+)\//.exec(f.reproduce)?.[1];
      lines.push(c.dim(`    Reproduce (with your server running: ${r.reproduceStart ?? `PORT=${port ?? '<port>'} npm start`}):`), indent(c.cyan(f.reproduce)));
    }
  }
  lines.push(...notes);
  if (r.hint) lines.push(`    ${c.yellow('Hint:')} ${r.hint}`);
  if (r.status === 'error') lines.push(c.red('    This is a bug in the grader, not in your code. Please report it with the output above.'));
  if (r.serverOutput && r.serverOutput.length > 0) {
    lines.push(c.dim(`    Your server's last lines:`));
    for (const l of r.serverOutput.slice(-10)) lines.push(c.dim(`      ${SERVER_PREFIX} ${l}`));
  }
  return lines.join('\n');
}

export function formatSummary(result: RunResult, c: Palette, verbose = false): string {
  const lines: string[] = [''];
  if (result.status === 'error' && result.message) {
    lines.push(`${c.red('✗')} ${result.message}`);
    if (!verbose && result.serverOutput.length > 0) {
      lines.push(c.dim(`  Your server's last lines:`));
      for (const l of result.serverOutput.slice(-15)) lines.push(c.dim(`    ${SERVER_PREFIX} ${l}`));
    }
    if (result.exitCode === 2 && result.timings.readyMs !== undefined && result.serverOutput.length === 0) lines.push(c.dim(`  Your server printed nothing.`));
  }
  const passed = result.checks.filter((r) => r.status === 'pass').length;
  const notRun = result.checks.filter((r) => r.status === 'skip').length;
  const total = result.checks.length;
  if (notRun > 0 && result.status === 'fail') lines.push(c.dim(`${notRun} more check${notRun === 1 ? '' : 's'} not run: stopped at the first failure (run \`labs check --all\` to run every check).`));
  const verdict = result.status === 'pass' ? c.green(c.bold('PASSED')) : result.status === 'fail' ? c.red(c.bold('FAILED')) : c.red(c.bold('COULD NOT RUN'));
  lines.push(`${verdict} ${passed} of ${total} checks passed · ${(result.timings.totalMs / 1000).toFixed(1)} s · seed ${result.seed} ${c.dim(`(replay: labs check --seed ${result.seed})`)}`);
  return lines.join('\n');
}
