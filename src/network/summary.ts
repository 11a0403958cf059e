/** The per-layer summary table: index, type, output shape, parameter count, details. */
import { fmt, sizeOf } from '../core/shape.js';
import type { Sequential } from './sequential.js';

export function summaryTable(net: Sequential): string {
  const rows = [['#', 'layer', 'output shape', 'parameters', 'details'], ['', 'Input', fmt(net.inputShape), '0', '']];
  net.layers.forEach((layer, k) => {
    const params = layer.paramSpecs().reduce((n, s) => n + sizeOf(s.shape), 0);
    rows.push([String(k), layer.type, fmt(layer.outputShape), params.toLocaleString('en-US'), layer.describe()]);
  });
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  const rule = '-'.repeat(line(rows[0]).length);
  return [line(rows[0]), rule, ...rows.slice(1).map(line), rule,
    `total parameters: ${net.parameterCount.toLocaleString('en-US')} (one vector w)`].join('\n');
}
