// How a reference to an addon definition picks one: the operator resolves
// Clusters this way, and the CLI and the console offer what it will pick.

/** Compares dotted versions numerically ("15.10" > "15.9"); non-numeric parts compare as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.\-+]/);
  const pb = b.split(/[.\-+]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "";
    const y = pb[i] ?? "";
    const nx = Number(x);
    const ny = Number(y);
    const diff = x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
    if (diff !== 0) return diff;
  }
  return 0;
}

/**
 * A definition reference is an exact name or a version prefix: `mydb-`
 * matches `mydb-15` and `mydb-16.1`, but not `mydb-exporter`.
 */
export function matchesDefinition(name: string, reference: string): boolean {
  return name === reference || (name.startsWith(reference) && /^\d/.test(name.slice(reference.length)));
}

/**
 * The definitions a reference picks, the one to use first: the definition
 * of that exact name alone, else every one the prefix matches, newest first.
 */
export function definitionsFor<T extends { metadata: { name?: string } }>(all: T[], reference: string): T[] {
  const exact = all.find((d) => d.metadata.name === reference);
  if (exact) return [exact];
  return all
    .filter((d) => matchesDefinition(d.metadata.name ?? "", reference))
    .sort((a, b) => compareVersions(b.metadata.name!, a.metadata.name!));
}
