// Every normative clause of a lab's README contract is mapped to the checks that test it, or marked in the
// README as not graded. The map is data next to the lab (labs/<id>/contract.json):
//   { "clauses": [ { "readme": "<words quoted verbatim from README.md>", "checks": ["check-id", ...] },
//                  { "readme": "<words quoted verbatim>", "graded": false, "why": "..." } ] }
// A clause without a check fails here, so does a quote the README no longer contains (the map drifted), a
// check no clause names (a check testing something the contract does not say), and a not-graded clause the
// README does not mark "(not graded)".
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labIds, loadLab } from '../../labs/index.ts';

interface Clause {
  readme: string;
  checks?: string[];
  graded?: boolean;
  why?: string;
}

const normalise = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The paragraph or list item of the README (blank-line or bullet separated) that holds `quote`. */
function blockOf(readme: string, quote: string): string | undefined {
  const blocks = readme.split(/\n\s*\n|\n(?=\s*(?:[-*]|\d+\.|\|)\s)/);
  return blocks.map(normalise).find((b) => b.includes(normalise(quote)));
}

describe('contract-clause maps', () => {
  for (const id of labIds()) {
    it(`${id}: every README clause maps to a check or is marked not graded, and every check to a clause`, async () => {
      const lab = await loadLab(id);
      const file = join(lab.dir, 'contract.json');
      expect(existsSync(file), `labs/${id}/contract.json is missing`).toBe(true);
      const { clauses } = JSON.parse(readFileSync(file, 'utf8')) as { clauses: Clause[] };
      expect(Array.isArray(clauses) && clauses.length >= lab.checks.length, `labs/${id}/contract.json: at least one clause per check`).toBe(true);
      const readme = normalise(readFileSync(join(lab.dir, 'README.md'), 'utf8'));
      const raw = readFileSync(join(lab.dir, 'README.md'), 'utf8');
      const ids = new Set(lab.checks.map((c) => c.id));
      const named = new Set<string>();
      const problems: string[] = [];
      for (const clause of clauses) {
        const quote = normalise(clause.readme ?? '');
        if (quote.length < 8) problems.push(`clause ${JSON.stringify(clause.readme)}: quote at least a few words of the README`);
        else if (!readme.includes(quote)) problems.push(`clause ${JSON.stringify(clause.readme)}: not found in README.md (quote it verbatim)`);
        if (clause.graded === false) {
          if (!clause.why) problems.push(`clause ${JSON.stringify(clause.readme)}: not graded, but no "why"`);
          const block = blockOf(raw, clause.readme);
          if (block && !/\bnot graded\b/i.test(block)) problems.push(`clause ${JSON.stringify(clause.readme)}: not graded, so README.md must say "(not graded)" in the same paragraph or list item`);
          if (clause.checks?.length) problems.push(`clause ${JSON.stringify(clause.readme)}: marked not graded but names checks`);
        } else {
          if (!clause.checks?.length) problems.push(`clause ${JSON.stringify(clause.readme)}: no check tests it (add one, or mark it "graded": false and "(not graded)" in the README)`);
          for (const c of clause.checks ?? []) {
            if (!ids.has(c)) problems.push(`clause ${JSON.stringify(clause.readme)}: names unknown check "${c}"`);
            named.add(c);
          }
        }
      }
      for (const c of ids) if (!named.has(c)) problems.push(`check "${c}" tests no clause of the contract`);
      expect(problems, `labs/${id}/contract.json`).toEqual([]);
    });
  }
});
