// Staged hints for `h`: the README's "## Hints" section, one <details> block (or numbered item) at a
// time. (The failing check's own hint is already shown with the failure.) Pure.
import type { Lab } from '../../grader/types.ts';

export interface Hint {
  title: string;
  body: string;
}

/** The "## Hints" section of a lab README: `<details><summary>Title</summary> body </details>` blocks, else numbered items. */
export function parseReadmeHints(markdown: string): Hint[] {
  const start = markdown.search(/^##\s+Hints\s*$/im);
  if (start < 0) return [];
  const rest = markdown.slice(start).split('\n').slice(1).join('\n');
  const end = rest.search(/^##\s+/m);
  const section = end < 0 ? rest : rest.slice(0, end);
  const hints: Hint[] = [];
  const details = /<details>\s*<summary>([\s\S]*?)<\/summary>([\s\S]*?)<\/details>/gi;
  for (const m of section.matchAll(details)) {
    hints.push({ title: clean(m[1]).replace(/^\d+\.\s*/, ''), body: clean(m[2]) });
  }
  if (hints.length > 0) return hints;
  // Fallback: a numbered list, one item per hint.
  const items = section.split(/^\s*\d+\.\s+/m).slice(1);
  return items.map((text, i) => ({ title: `Hint ${i + 1}`, body: clean(text) })).filter((h) => h.body);
}

/** Drops tags and reflows paragraphs (Markdown soft line breaks), keeping blank lines and list items. */
function clean(text: string): string {
  return text
    .replace(/<[^>]+>/g, '')
    .split(/\n\s*\n/)
    .map((para) =>
      para
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .reduce((acc, line) => (acc === '' ? line : /^([-*]|\d+\.)\s/.test(line) ? `${acc}\n${line}` : `${acc} ${line}`), ''),
    )
    .filter(Boolean)
    .join('\n\n');
}

/** The hints `h` steps through: the README's staged hints; a lab without them falls back to its checks' hints. */
export function hintsFor(lab: Pick<Lab, 'checks'>, readmeHints: Hint[]): Hint[] {
  if (readmeHints.length > 0) return readmeHints;
  return lab.checks.map((c) => ({ title: c.title, body: c.hint }));
}
