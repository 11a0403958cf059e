/** Plain-text tables for the terminal: the confusion matrix and percentages. */

export function percent(x: number, digits = 2): string {
  return `${(100 * x).toFixed(digits)}%`;
}

/** Rows are true classes, columns predicted ones. */
export function confusionTable(confusion: number[][], names?: string[]): string {
  const labels = confusion.map((_, i) => names?.[i] ?? String(i));
  const width = Math.max(5, ...labels.map((l) => l.length), ...confusion.flat().map((v) => String(v).length)) + 1;
  const pad = (s: string) => s.padStart(width);
  const header = 'true\\pred'.padEnd(10) + labels.map(pad).join('');
  const rows = confusion.map((row, i) => labels[i].padEnd(10) + row.map((v) => pad(String(v))).join(''));
  return [header, ...rows].join('\n');
}
