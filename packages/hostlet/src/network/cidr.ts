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

/** A pod or service range: `/8` to `/30`. */
export function parseCidr(text: string): Cidr {
  const cidr = text.includes("/") ? parseIpBlock(text) : undefined;
  if (!cidr || cidr.prefix < 8 || cidr.prefix > 30) throw new Error(`invalid CIDR ${text}`);
  return cidr;
}

export function cidrContains(cidr: Cidr, ip: string): boolean {
  const value = ipToInt(ip);
  return value >= cidr.base && value < cidr.base + cidr.size;
}

/** Any IPv4 block (`/0` to `/32`), as NetworkPolicy ipBlocks name them. */
export function parseIpBlock(text: string): Cidr {
  const [ip, bits] = text.split("/");
  const prefix = Number(bits ?? 32);
  if (!ip || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`invalid CIDR ${text}`);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return { base: (ipToInt(ip) & mask) >>> 0, prefix, size: 2 ** (32 - prefix) };
}

export function formatCidr(cidr: Cidr): string {
  return `${intToIp(cidr.base)}/${cidr.prefix}`;
}

/** The block without the excepted ones, as the fewest blocks that cover the rest. */
export function subtractCidrs(block: Cidr, excepts: Cidr[]): Cidr[] {
  const overlapping = excepts.filter((e) => e.base < block.base + block.size && block.base < e.base + e.size);
  if (overlapping.length === 0) return [block];
  if (overlapping.some((e) => e.base <= block.base && e.base + e.size >= block.base + block.size)) return [];
  const half = block.size / 2;
  const prefix = block.prefix + 1;
  return [
    ...subtractCidrs({ base: block.base, prefix, size: half }, overlapping),
    ...subtractCidrs({ base: block.base + half, prefix, size: half }, overlapping),
  ];
}
