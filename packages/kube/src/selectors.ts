/** `matchLabels` as a label selector string (`a=1,b=2`), as list calls and the scale subresource take it. */
export function labelSelector(matchLabels: Record<string, string>): string {
  return Object.entries(matchLabels)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
}
