/**
 * Kubernetes resource quantities, as k8s.io/apimachinery's resource.Quantity
 * reads them:
 *
 *   <quantity> ::= <sign>? <number> <suffix>?
 *   <number>   ::= <digits> | <digits> "." <digits>? | "." <digits>
 *   <suffix>   ::= Ki | Mi | Gi | Ti | Pi | Ei            (binary: 2^10 … 2^60)
 *                | n | u | m | k | M | G | T | P | E      (decimal: 10^-9 … 10^18)
 *                | ("e" | "E") <sign>? <digits>           (decimal exponent)
 *
 * The documented grammar allows a fractional exponent, which Kubernetes'
 * parser refuses; this module refuses it too. Kubernetes' parser also lets
 * a bare suffix ("Gi") or a lone "." through as zero; its own CRD pattern
 * does not, and neither does this module.
 */
const NUMBER = "([0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)";
const SUFFIX = "([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?";

/** Any quantity, signed: usable as an OpenAPI `pattern`. */
export const QUANTITY_PATTERN = `^[+-]?${NUMBER}${SUFFIX}$`;

/** A quantity without a minus sign, as resource amounts must be: usable as an OpenAPI `pattern`. */
export const NON_NEGATIVE_QUANTITY_PATTERN = `^\\+?${NUMBER}${SUFFIX}$`;

const QUANTITY = new RegExp(`^([+-]?)${NUMBER}${SUFFIX}$`);

const DECIMAL_EXPONENTS: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_EXPONENTS: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** A quantity's exact value: (-1)^negative × digits × 10^exponent × 2^binaryExponent. */
export interface ExactQuantity {
  negative: boolean;
  digits: bigint;
  exponent: number;
  binaryExponent: number;
}

export class QuantityError extends Error {
  constructor(readonly value: unknown) {
    super(`invalid quantity ${JSON.stringify(value)}`);
    this.name = "QuantityError";
  }
}

/** JSON numbers are quantities too (Kubernetes reads `memory: 1024` as "1024"). */
function asText(value: string | number): string | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
  return value;
}

/** The exact value of a quantity, or undefined when the text is not one. */
export function parseExactQuantity(value: string | number): ExactQuantity | undefined {
  const text = asText(value);
  const match = text === undefined ? null : QUANTITY.exec(text);
  if (!match) return undefined;
  const [, sign, number, suffix = ""] = match as unknown as [string, string, string, string | undefined];
  const [whole, fraction = ""] = number.split(".") as [string, string | undefined];
  let exponent = -fraction.length;
  let binaryExponent = 0;
  if (suffix in BINARY_EXPONENTS) binaryExponent = BINARY_EXPONENTS[suffix]!;
  else if (suffix in DECIMAL_EXPONENTS) exponent += DECIMAL_EXPONENTS[suffix]!;
  else exponent += Number(suffix.slice(1));
  return { negative: sign === "-", digits: BigInt(`${whole}${fraction}` || "0"), exponent, binaryExponent };
}

/** Whether a string (or JSON number) is a Kubernetes quantity. */
export function isQuantity(value: unknown): value is string | number {
  return (typeof value === "string" || typeof value === "number") && parseExactQuantity(value) !== undefined;
}

/**
 * A quantity in base units (bytes, cores, …), as the nearest double:
 * "500m" → 0.5, "1Gi" → 1073741824, "1e3" → 1000. Throws on anything else.
 */
export function parseQuantity(value: string | number): number;
export function parseQuantity(value: string | number | undefined): number | undefined;
export function parseQuantity(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const exact = parseExactQuantity(value);
  if (!exact) throw new QuantityError(value);
  // The decimal string converts correctly rounded; powers of two scale exactly.
  const decimal = Number(`${exact.negative ? "-" : ""}${exact.digits}e${exact.exponent}`);
  return decimal * 2 ** exact.binaryExponent;
}

/** Past this many decimal places a rounded-up value is 1 for any mantissa a person writes. */
const NEGLIGIBLE_EXPONENT = 400;

/**
 * A quantity scaled by 10^scale and rounded up away from zero, computed
 * exactly, as Kubernetes' ScaledValue does: scaledQuantity("0.1", 3) and
 * scaledQuantity("100m", 3) are both exactly 100.
 */
export function scaledQuantity(value: string | number, scale: number): number {
  const exact = parseExactQuantity(value);
  if (!exact) throw new QuantityError(value);
  const sign = exact.negative ? -1 : 1;
  if (exact.digits === 0n) return 0;
  const mantissa = exact.digits << BigInt(exact.binaryExponent);
  const exponent = exact.exponent + scale;
  if (exponent >= 0) {
    if (exponent > NEGLIGIBLE_EXPONENT) return sign * Infinity;
    return sign * Number(mantissa * 10n ** BigInt(exponent));
  }
  if (-exponent > NEGLIGIBLE_EXPONENT + mantissa.toString().length) return sign;
  const divisor = 10n ** BigInt(-exponent);
  const rounded = mantissa / divisor + (mantissa % divisor === 0n ? 0n : 1n);
  return sign * Number(rounded);
}

/** Thousandths of the base unit, rounded up: the exact form for CPU ("250m" → 250, "1.5" → 1500). */
export function milliQuantity(value: string | number): number {
  return scaledQuantity(value, 3);
}
