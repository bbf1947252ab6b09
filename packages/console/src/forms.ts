/** A request the console refuses before asking the apiserver; `field` names what to correct. */
export class FormError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * The field a refusal names: apiserver and webhook messages say which
 * field is wrong by starting a clause with its path
 * (`… is invalid: spec.componentSpecs[0].replicas: Invalid value …`).
 */
export function refusedField(message: string): string | undefined {
  return /(?:^|[\s"])((?:metadata|spec)(?:\.[A-Za-z][\w-]*|\[\d+\])+):/.exec(message)?.[1];
}

type Body = Record<string, unknown>;

/** The request body as an object, or a refusal of it. */
export function body(value: unknown): Body {
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new FormError("body", "not an object");
  return value as Body;
}

export function text(from: Body, key: string, field: string): string {
  const value = optionalText(from, key, field);
  if (!value) throw new FormError(field, "required");
  return value;
}

export function optionalText(from: Body, key: string, field: string): string | undefined {
  const value = from[key];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new FormError(field, "not a string");
  return value.trim() || undefined;
}

/** An integer as the form sent it (a number, or digits); it stays as typed so the apiserver judges its range. */
export function optionalInteger(from: Body, key: string, field: string): number | undefined {
  const value = from[key];
  if (value === undefined || value === null || value === "") return undefined;
  const number = typeof value === "string" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isInteger(number)) throw new FormError(field, "not an integer");
  return number;
}
