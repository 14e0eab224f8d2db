// gradebook.html: one static page an instructor opens from the output folder (no script, no network):
// the pass rate per check as an inline SVG bar chart, the class table (a row per student, a cell per
// check), and each student's failures with the reason and the server's last lines.
import { ERROR_CLASSES, summarize, type Gradebook } from './gradebook.ts';

const esc = (s: string | number) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A student's name as an HTML id (their failures section). */
const anchor = (student: string) => `s-${Buffer.from(student, 'utf8').toString('hex')}`;

function chart(gb: Gradebook): string {
  const rows = summarize(gb);
  const labelW = 12 + 7 * Math.max(5, ...rows.map((r) => r.id.length));
  const barW = 400;
  const rowH = 24;
  const height = rows.length * rowH + 8;
  const width = labelW + barW + 110;
  const bars = rows
    .map((r, i) => {
      const y = 4 + i * rowH;
      const w = Math.round(r.rate * barW);
      const colour = r.rate >= 0.8 ? '#2e7d32' : r.rate >= 0.5 ? '#f9a825' : '#c62828';
      return (
        `<g class="bar" data-check="${esc(r.id)}" data-rate="${Math.round(r.rate * 100)}">` +
        `<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${esc(r.id)}</text>` +
        `<rect x="${labelW}" y="${y + 3}" width="${barW}" height="${rowH - 8}" fill="#eee"></rect>` +
        `<rect x="${labelW}" y="${y + 3}" width="${w}" height="${rowH - 8}" fill="${colour}"><title>${esc(r.title)}: ${r.passed} of ${r.graded} passed</title></rect>` +
        `<text x="${labelW + barW + 8}" y="${y + 16}">${Math.round(r.rate * 100)}% (${r.passed}/${r.graded})</text></g>`
      );
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="pass rate per check" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">${bars}</svg>`;
}

export function toHtml(gb: Gradebook): string {
  const checks = gb.checks;
  const head = `<tr><th>student</th><th>score</th>${checks.map((c) => `<th title="${esc(c.title)}">${esc(c.id)}</th>`).join('')}<th>first problem</th></tr>`;
  const body = gb.students
    .map((s) => {
      const cells = checks
        .map((c) => {
          const r = s.checks.find((x) => x.check === c.id);
          const status = r?.status ?? 'skip';
          return `<td class="${status === 'pass' ? 'pass' : 'fail'}" title="${esc(r?.message ?? status)}">${status === 'pass' ? '&#10003;' : '&#10007;'}</td>`;
        })
        .join('');
      const name = s.status === 'pass' ? esc(s.student) : `<a href="#${anchor(s.student)}">${esc(s.student)}</a>`;
      return `<tr class="student" data-student="${esc(s.student)}"><td>${name}</td><td class="score">${s.score}/${s.maxScore}</td>${cells}<td>${esc(s.errorClass)}</td></tr>`;
    })
    .join('\n');
  const summaryRows = summarize(gb)
    .map((r) => `<tr><td>${esc(r.id)}</td><td>${esc(r.title)}</td><td>${r.passed}/${r.graded}</td><td>${Math.round(r.rate * 100)}%</td></tr>`)
    .join('\n');
  const failures = gb.students
    .filter((s) => s.status !== 'pass')
    .map((s) => {
      const lost = s.checks.filter((c) => c.status !== 'pass');
      const items = lost.map((c) => `<li><code>${esc(c.check)}</code> <span class="class">${esc(c.errorClass)}</span>${c.message ? `: ${esc(c.message)}` : ''}</li>`).join('');
      const why = s.message ? `<p class="message">${esc(s.message.split('\n')[0]!)}</p>` : '';
      const output = s.output.length ? `<details><summary>server output (last lines)</summary><pre>${esc(s.output.join('\n'))}</pre></details>` : '';
      return `<section class="failures" id="${anchor(s.student)}"><h3>${esc(s.student)}: ${s.score}/${s.maxScore}</h3>${why}<ul>${items}</ul><p class="replay">Replay: <code>labs check --all --seed ${s.seed}</code> in the student's folder</p>${output}</section>`;
    })
    .join('\n');
  const passedAll = gb.students.filter((s) => s.status === 'pass').length;
  const legend = Object.entries(ERROR_CLASSES).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gradebook: ${esc(gb.lab.id)}</title>
<style>
body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f4f4f4;font-weight:600}
td.pass{color:#2e7d32;text-align:center}td.fail{color:#c62828;background:#fdecea;text-align:center}
.failures{border-left:4px solid #c62828;padding-left:1em;margin:1em 0}
.class{font-family:monospace;color:#c62828}
pre{background:#f7f7f7;padding:.5em;overflow:auto}
dt{font-family:monospace;float:left;clear:left;width:12em}dd{margin-left:13em}
</style></head>
<body>
<h1>${esc(gb.lab.id)}: ${gb.students.length} students, ${passedAll} passed every check</h1>
<p>${esc(gb.lab.title)}${gb.shard ? ` (shard ${esc(gb.shard)})` : ''}</p>
<h2>Pass rate per check</h2>
${chart(gb)}
<table class="summary"><thead><tr><th>check</th><th>title</th><th>passed</th><th>rate</th></tr></thead><tbody>
${summaryRows}
</tbody></table>
<h2>Class</h2>
<table class="class"><thead>${head}</thead><tbody>
${body}
</tbody></table>
<h2>Failures</h2>
${failures || '<p>None: every student passed every check.</p>'}
<h2>Error classes</h2>
<dl>${legend}</dl>
</body></html>
`;
}
