import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hintsFor, parseReadmeHints } from '../../cli/tui/hints.ts';

describe('parseReadmeHints', () => {
  it('reads <details> blocks of the Hints section, in order, reflowing soft line breaks', () => {
    const md = [
      '# Lab',
      '## Hints',
      '<details><summary>1. Where do I start?</summary>',
      '',
      'Use `http.createServer`.',
      'Then switch on the path.',
      '</details>',
      '',
      '<details><summary>2. Bodies</summary>',
      '',
      'Collect chunks.',
      '',
      '- one',
      '- two',
      '</details>',
      '## After',
      '<details><summary>not a hint</summary>x</details>',
    ].join('\n');
    expect(parseReadmeHints(md)).toEqual([
      { title: 'Where do I start?', body: 'Use `http.createServer`. Then switch on the path.' },
      { title: 'Bodies', body: 'Collect chunks.\n\n- one\n- two' },
    ]);
  });
  it('falls back to a numbered list', () => {
    expect(parseReadmeHints('## Hints\n1. First thing\n   more\n2. Second\n')).toEqual([
      { title: 'Hint 1', body: 'First thing more' },
      { title: 'Hint 2', body: 'Second' },
    ]);
  });
  it('no Hints section, no hints', () => {
    expect(parseReadmeHints('# Lab\n## Contract\n1. x')).toEqual([]);
  });
  it('reads the staged hints of the http-basics README', () => {
    const hints = parseReadmeHints(readFileSync(new URL('../../labs/http-basics/README.md', import.meta.url), 'utf8'));
    expect(hints.map((h) => h.title)).toEqual(['Where do I start?', 'Reading a body', '404 vs 405']);
    expect(hints[0].body).toContain('http.createServer');
    expect(hints[0].body).not.toContain('\n');
  });
});

it("hintsFor falls back to the checks' hints when the README has none", () => {
  const lab = { checks: [{ id: 'a', title: 'A works', hint: 'Do A.', run: async () => {} }] };
  expect(hintsFor(lab, [])).toEqual([{ title: 'A works', body: 'Do A.' }]);
  expect(hintsFor(lab, [{ title: 't', body: 'b' }])).toEqual([{ title: 't', body: 'b' }]);
});
