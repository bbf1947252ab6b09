/** A moment as Kubernetes writes times in status: RFC 3339 in UTC, whole seconds. */
export function rfc3339(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
