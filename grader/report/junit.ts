// JUnit XML (`labs check --junit FILE`), the format CI systems and GitHub/GitLab test reports read: one
// <testcase> per check; a failed check's text is the same detail the plain report prints (what was sent,
// expected and received, the reproduction, the hint). And GitHub Actions annotations for failed checks.
import type { RunResult } from '../events.ts';
import { palette } from './colour.ts';
import { formatCheck } from './text.ts';

/** Terminal escape sequences (a server's coloured log lines): dropped rather than shown as replacement characters. */
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;

/** Characters XML 1.0 cannot carry at all, even as references (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/FFFF). */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

const escapeCommon = (text: string) =>
  text
    .replace(ANSI, '')
    .replace(NOT_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;') // also breaks up "]]>", which XML forbids in text
    .replace(/\r/g, '&#13;'); // a parser would turn a bare CR into LF

/** Text content of an element: newlines stay readable. */
export function xmlText(text: string): string {
  return escapeCommon(text);
}

/** An attribute value (double-quoted): quotes escaped, and tab/newline as references (parsers turn them into spaces). */
export function xmlAttr(text: string): string {
  return escapeCommon(text).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);
const firstLine = (s: string) => s.split(/\r\n|\r|\n/)[0]!;

export function toJunit(result: RunResult): string {
  const plain = palette(false);
  const id = xmlAttr(result.lab.id);
  const count = (s: string) => result.checks.filter((c) => c.status === s).length;
  const totals = `tests="${result.checks.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('skip')}" time="${seconds(result.timings.totalMs)}"`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="backend-labs" ${totals}>`,
    `  <testsuite name="${id}" ${totals}>`,
    `    <properties><property name="seed" value="${result.seed}"/><property name="replay" value="${xmlAttr(`labs check --seed ${result.seed}`)}"/></properties>`,
  ];
  result.checks.forEach((c, i) => {
    const open = `    <testcase classname="${id}" name="${xmlAttr(`${c.id}: ${c.title}`)}" time="${seconds(c.durationMs)}"`;
    if (c.status === 'pass') {
      lines.push(`${open}/>`);
      return;
    }
    if (c.status === 'skip') {
      lines.push(`${open}><skipped message="${xmlAttr(firstLine(c.failure?.message ?? 'not run'))}"/></testcase>`);
      return;
    }
    // A failed check is a <failure>; a check that threw (a bug in the grader) is an <error>.
    const tag = c.status === 'error' ? 'error' : 'failure';
    const detail = formatCheck(c, plain, i, result.checks.length); // the plain text report's own rendering
    lines.push(`${open}><${tag} message="${xmlAttr(firstLine(c.failure?.message || c.title))}" type="${c.status}">${xmlText(detail)}</${tag}></testcase>`);
  });
  // The run's own verdict when it could not run (crashed at start, never listened): no check says it.
  if (result.message) lines.push(`    <system-err>${xmlText(result.message)}</system-err>`);
  if (result.status === 'error' && result.serverOutput.length > 0) lines.push(`    <system-out>${xmlText(result.serverOutput.slice(-15).join('\n'))}</system-out>`);
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

/** GitHub's escaping of a workflow command's message (data), and of its properties. */
const ghData = (s: string) => s.replace(ANSI, '').replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const ghProperty = (s: string) => ghData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/**
 * `GITHUB_ACTIONS=true`: one `::error title=<check id>::<message>` workflow command per failed check (and per
 * check that hit a grader bug), which GitHub shows on the run's summary and the pull request. A run that
 * could not start the server fails no check, so its message is annotated under the lab's id instead.
 */
export function githubAnnotations(result: RunResult): string[] {
  const lines = result.checks
    .filter((c) => c.status === 'fail' || c.status === 'error')
    .map((c) => `::error title=${ghProperty(c.id)}::${ghData(c.failure?.message || c.title)}`);
  if (lines.length === 0 && result.status === 'error' && result.message) lines.push(`::error title=${ghProperty(result.lab.id)}::${ghData(result.message)}`);
  return lines;
}
