/**
 * The summary table: index, type, output shape, parameter count, details; for a graph network
 * also each node's name and the nodes it reads, so the table shows the structure, not only a list.
 */
import { fmt, sizeOf } from '../core/shape.js';
import type { Sequential } from './sequential.js';

export function summaryTable(net: Sequential): string {
  const graph = !net.isChain;
  const params = (k: number) => net.layers[k].paramSpecs().reduce((n, s) => n + sizeOf(s.shape), 0).toLocaleString('en-US');
  const rows = graph
    ? [['#', 'node', 'layer', 'inputs', 'output shape', 'parameters', 'details'], ['', 'input', 'Input', '', fmt(net.inputShape), '0', '']]
    : [['#', 'layer', 'output shape', 'parameters', 'details'], ['', 'Input', fmt(net.inputShape), '0', '']];
  net.layers.forEach((layer, k) => {
    const shape = fmt(layer.outputShape), details = layer.describe();
    rows.push(graph
      ? [String(k), net.topology.names[k], layer.type, net.topology.inputs[k].map((t) => net.tensorName(t)).join(', '),
        shape, params(k), details]
      : [String(k), layer.type, shape, params(k), details]);
  });
  const numeric = graph ? 5 : 3;
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c === numeric ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  const rule = '-'.repeat(line(rows[0]).length);
  return [line(rows[0]), rule, ...rows.slice(1).map(line), rule,
    `total parameters: ${net.parameterCount.toLocaleString('en-US')} (one vector w)`].join('\n');
}
