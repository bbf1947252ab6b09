const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** Parses a Kubernetes resource quantity ("500m", "128Mi", "1e3") into a plain number. */
export function parseQuantity(text: string | number): number {
  if (typeof text === "number") return text;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(text.trim());
  if (!match) throw new Error(`invalid quantity ${JSON.stringify(text)}`);
  const value = Number(match[1]);
  const suffix = match[2]!;
  if (/[eE]/.test(match[1]!) && suffix === "") return value;
  const factor = BINARY[suffix] ?? DECIMAL[suffix];
  if (factor === undefined) throw new Error(`invalid quantity suffix in ${JSON.stringify(text)}`);
  return value * factor;
}
