export interface Cidr {
  base: number;
  prefix: number;
  size: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function intToIp(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

export function parseCidr(text: string): Cidr {
  const [ip, bits] = text.split("/");
  const prefix = Number(bits);
  if (!ip || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) throw new Error(`invalid CIDR ${text}`);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return { base: (ipToInt(ip) & mask) >>> 0, prefix, size: 2 ** (32 - prefix) };
}

export function cidrContains(cidr: Cidr, ip: string): boolean {
  const value = ipToInt(ip);
  return value >= cidr.base && value < cidr.base + cidr.size;
}
