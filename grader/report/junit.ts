// JUnit XML (`labs check --junit FILE`), the format CI systems and GitHub/GitLab test reports read: one
// <testcase> per check; a failed check's text is the same detail the plain report prints (what was sent,
// expected and received, the reproduction, the hint). And GitHub Actions annotations for failed checks.
import type { RunResult } from '../events.ts';
import { palette } from './colour.ts';
import { formatCheck } from './text.ts';

/** Text safe inside XML: the five escapes, and characters XML 1.0 forbids replaced (control characters). */
export function xmlEscape(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

export function toJunit(result: RunResult): string {
  const plain = palette(false);
  const id = result.lab.id;
  const count = (s: string) => result.checks.filter((c) => c.status === s).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="backend-labs" tests="${result.checks.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('skip')}" time="${seconds(result.timings.totalMs)}">`,
    `  <testsuite name="${xmlEscape(id)}" tests="${result.checks.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('skip')}" time="${seconds(result.timings.totalMs)}">`,
    `    <properties><property name="seed" value="${result.seed}"/><property name="replay" value="${xmlEscape(`labs check --seed ${result.seed}`)}"/></properties>`,
  ];
  result.checks.forEach((c, i) => {
    const open = `    <testcase classname="${xmlEscape(id)}" name="${xmlEscape(`${c.id}: ${c.title}`)}" time="${seconds(c.durationMs)}"`;
    if (c.status === 'pass') {
      lines.push(`${open}/>`);
      return;
    }
    if (c.status === 'skip') {
      lines.push(`${open}><skipped message="${xmlEscape(c.failure?.message ?? 'not run')}"/></testcase>`);
      return;
    }
    const tag = c.status === 'error' ? 'error' : 'failure';
    const first = (c.failure?.message ?? c.title).split('\n')[0]!;
    const detail = formatCheck(c, plain, i, result.checks.length);
    lines.push(`${open}><${tag} message="${xmlEscape(first)}" type="${c.status}">${xmlEscape(detail)}</${tag}></testcase>`);
  });
  if (result.message) lines.push(`    <system-err>${xmlEscape(result.message)}</system-err>`);
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

/** GitHub's escaping of a workflow command's message (data), and of its properties. */
const ghData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const ghProperty = (s: string) => ghData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** One `::error` workflow command per failed check (GitHub Actions shows them on the run's summary). */
export function githubAnnotations(result: RunResult): string[] {
  const plain = palette(false);
  return result.checks
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => c.status === 'fail' || c.status === 'error')
    .map(({ c, i }) => `::error title=${ghProperty(`${result.lab.id} / ${c.id}`)}::${ghData(formatCheck(c, plain, i, result.checks.length))}`);
}
