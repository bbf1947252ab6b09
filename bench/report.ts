/** Median of a list of numbers (the mean of the middle two for even lengths). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

/** Prints a titled table; the first row is the header. */
export function printTable(title: string, rows: string[][]): void {
  const [header, ...body] = rows;
  console.log(`\n${title}`);
  console.table(body.map((row) => Object.fromEntries(header!.map((h, i) => [h, row[i]]))));
}
