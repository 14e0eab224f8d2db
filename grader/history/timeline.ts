// A static page showing a history as a timeline (Jepsen's timeline.html is the model): one column per client,
// time flowing down, each operation a box from its invocation to its completion (open-ended when unknown),
// coloured by outcome, and the network faults as bands across every column. No script, no external files.
import type { Op } from './history.ts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const COLOURS: Record<Op['type'], string> = { ok: '#c8f0c8', fail: '#f6c6c6', info: '#f8e7a8' };
const ROW = 26;
const LANE = 200;
const GUTTER = 170;

export function renderTimeline(title: string, ops: readonly Op[], faults: readonly { at: number; what: string }[]): string {
  const processes = [...new Set(ops.map((o) => o.process))];
  // Rows, not a linear time scale: operations here last a few ms and come seconds apart, so each distinct
  // moment (an invocation, a completion, a fault) gets a row, in time order, with its time in the gutter.
  const moments = [...new Set([...ops.flatMap((o) => (o.complete === Infinity ? [o.invoke] : [o.invoke, o.complete])), ...faults.map((f) => f.at)])].sort((a, b) => a - b);
  const row = new Map(moments.map((t, i) => [t, i]));
  const y = (t: number) => 40 + (row.get(t) ?? moments.length) * ROW;
  const bottomAll = y(Infinity) + ROW;
  const boxes = ops.map((o) => {
    const top = y(o.invoke);
    const bottom = o.complete === Infinity ? bottomAll : y(o.complete) + ROW - 4;
    const label = `${o.f} ${o.key}${o.f === 'write' || o.type === 'ok' ? ` = ${o.value === null ? 'nil' : o.value}` : ''}`;
    const detail = `${o.process}${o.node ? ` @ node ${o.node}` : ''}: ${label} (${o.type}${o.note ? `, ${o.note}` : ''}) ${o.invoke} .. ${o.complete === Infinity ? '?' : o.complete} ms`;
    return `<div class="op ${o.type}" style="left:${GUTTER + processes.indexOf(o.process) * LANE}px;top:${top}px;height:${bottom - top}px;background:${COLOURS[o.type]}" title="${esc(detail)}">${esc(label)} <small>${o.node ? `node ${esc(o.node)} · ` : ''}${o.type}${o.note ? ` ${esc(o.note)}` : ''}</small></div>`;
  });
  const times = moments.map((t) => `<div class="t" style="top:${y(t)}px">${t.toFixed(0)} ms</div>`);
  const bands = faults.map((f) => `<div class="fault" style="top:${y(f.at)}px"><span>${esc(f.what)}</span></div>`);
  const heads = processes.map((p, i) => `<div class="head" style="left:${GUTTER + i * LANE}px">${esc(p)}</div>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)} · history</title>
<style>
body{font:13px system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:18px;margin:0 0 4px} p{margin:0 0 12px;color:#555}
.canvas{position:relative;height:${bottomAll + 20}px;width:${GUTTER + processes.length * LANE + 20}px;border-top:1px solid #ccc}
.t{position:absolute;left:0;width:60px;text-align:right;color:#777;font-size:11px;line-height:${ROW - 4}px}
.head{position:absolute;top:8px;width:${LANE - 20}px;font-weight:600}
.op{position:absolute;width:${LANE - 12}px;border:1px solid #888;border-radius:4px;padding:2px 4px;box-sizing:border-box;overflow:hidden;font-size:12px;white-space:nowrap;text-overflow:ellipsis}
.fault{position:absolute;left:66px;right:0;border-top:2px dashed #c33}
.fault span{position:absolute;left:0;top:1px;color:#c33;font-size:11px;width:${GUTTER - 72}px}
.legend span{display:inline-block;padding:1px 6px;margin-right:6px;border:1px solid #888;border-radius:3px}
</style></head><body>
<h1>${esc(title)}: ${ops.length} operations, ${faults.length} network events</h1>
<p class="legend">Time flows down, one row per moment (ms since the run began). <span style="background:${COLOURS.ok}">ok</span><span style="background:${COLOURS.fail}">fail (refused)</span><span style="background:${COLOURS.info}">unknown (no answer)</span> Dashed red lines: partitions, heals and other faults.</p>
<div class="canvas">${heads.join('')}${times.join('')}${bands.join('')}${boxes.join('')}</div>
</body></html>
`;
}
