'use strict';
// The result table printed by bench/run.js.

function fmt(x, digits = 0) {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  if (typeof x !== 'number') return String(x);
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** rows: {scenario, figure, value, target, met (true|false|null)} */
function table(rows) {
  const head = ['scenario', 'figure', 'value', 'target', 'status'];
  return grid(
    head,
    rows.map((r) => [r.scenario, r.figure, r.value, r.target || 'reported', r.met === null || r.met === undefined ? 'reported' : r.met ? 'met' : 'NOT met']),
  );
}

/** A Markdown table of `head` and the rows of cells in `data`. */
function grid(head, data) {
  const widths = head.map((h, i) => Math.max(h.length, ...data.map((d) => String(d[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...data.map(line)].join('\n');
}

module.exports = { fmt, table, grid };
