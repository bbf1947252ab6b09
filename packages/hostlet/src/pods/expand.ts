/**
 * Kubernetes' `$(VAR)` expansion for env values, command and args:
 * `$(NAME)` becomes the variable's value when it is defined and stays as
 * written otherwise, `$$` escapes a dollar, and any other `$` is literal.
 */
export function expandVariables(input: string, lookup: (name: string) => string | undefined): string {
  let out = "";
  let i = 0;
  while (i < input.length) {
    const char = input[i]!;
    if (char !== "$" || i + 1 >= input.length) {
      out += char;
      i += 1;
      continue;
    }
    const next = input[i + 1]!;
    if (next === "$") {
      out += "$";
      i += 2;
      continue;
    }
    if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close < 0) {
        out += "$(";
        i += 2;
        continue;
      }
      const name = input.slice(i + 2, close);
      out += lookup(name) ?? `$(${name})`;
      i = close + 1;
      continue;
    }
    out += "$" + next;
    i += 2;
  }
  return out;
}
