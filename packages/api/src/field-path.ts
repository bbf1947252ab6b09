/** `spec.componentSpecs[0].replicas` from a zod issue path. */
export function fieldPath(prefix: string, path: PropertyKey[]): string {
  return path.reduce<string>(
    (acc, part) => (typeof part === "number" ? `${acc}[${part}]` : `${acc}.${String(part)}`),
    prefix,
  );
}
