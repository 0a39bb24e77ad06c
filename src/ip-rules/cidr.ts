/**
 * Pure address and network parsing for IP rules, on top of ipaddr.js (its parsers and
 * subnet masks; no hand-written mask arithmetic). No Workers-only imports: the
 * benchmark bundles this for plain Node.
 *
 * Strictness is the point: ipaddr.js's lenient `parse` accepts inet_aton forms such as
 * "010.0.0.1" (octal, = 8.0.0.1), "1.2.3" and "0x7f.1". A rule typed with a leading
 * zero must not silently mean another network (the class of bug behind
 * CVE-2021-29921), so IPv4 must be four-part decimal without leading zeros, IPv6 must
 * not carry a zone id, and a prefix length must be plain decimal.
 */
import ipaddr from "ipaddr.js";

export type Address = ipaddr.IPv4 | ipaddr.IPv6;
export type Family = "ipv4" | "ipv6";

export const MAX_PREFIX: Record<Family, number> = { ipv4: 32, ipv6: 128 };

// RFC 4291 §2.5.5.2: ::ffff:0:0/96 carries IPv4 addresses; they are matched as IPv4.
const MAPPED_PREFIX = 96;

const DECIMAL_OCTET = /^(0|[1-9]\d{0,2})$/;
const PREFIX_LENGTH = /^(0|[1-9]\d{0,2})$/;

export type Network = { family: Family; address: Address; prefix: number; cidr: string };

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

/** The canonical text of an address: dotted quad, or RFC 5952 compressed IPv6. */
export function formatAddress(address: Address): string {
  return address.kind() === "ipv6" ? (address as ipaddr.IPv6).toRFC5952String() : address.toString();
}

/**
 * One address, strictly. IPv4-mapped IPv6 (::ffff:1.2.3.4) comes back as IPv4, so a
 * dual-stack client cannot step around an IPv4 rule by changing notation.
 */
export function parseAddress(input: string): ParseResult<Address> {
  const text = input.trim();
  if (text === "") return fail("must not be empty");
  if (text.includes(":")) {
    if (text.includes("%")) return fail(`"${text}" has a zone id; rules apply to global addresses`);
    if (!ipaddr.IPv6.isValid(text)) return fail(`"${text}" is not a valid IPv6 address`);
    if (text.includes(".")) {
      // Embedded dotted quads get the same strictness as IPv4. ipaddr.js reads the
      // deprecated IPv4-compatible form ::a.b.c.d (RFC 4291 §2.5.5.1) as ::ffff:a.b.c.d;
      // refuse it rather than guess.
      const quad = text.slice(text.lastIndexOf(":") + 1);
      if (!isDottedQuad(quad)) return fail(`"${text}" embeds an invalid IPv4 address (four decimal numbers 0-255, no leading zeros)`);
      if (text === `::${quad}`) return fail(`"${text}" is the deprecated IPv4-compatible form; write ${quad} or ::ffff:${quad}`);
    }
    const v6 = ipaddr.IPv6.parse(text);
    return { ok: true, value: v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6 };
  }
  if (!isDottedQuad(text)) return fail(`"${text}" is not a valid IPv4 address (four decimal numbers 0-255, no leading zeros)`);
  return { ok: true, value: ipaddr.IPv4.parse(text) };
}

function isDottedQuad(text: string): boolean {
  const octets = text.split(".");
  return octets.length === 4 && octets.every((o) => DECIMAL_OCTET.test(o)) && ipaddr.IPv4.isValidFourPartDecimal(text);
}

// ipaddr.js's subnet masks as bytes, built once per family and prefix length.
const MASK_BYTES: Record<Family, number[][]> = { ipv4: [], ipv6: [] };

function maskBytes(family: Family, prefix: number): number[] {
  const parser = family === "ipv6" ? ipaddr.IPv6 : ipaddr.IPv4;
  return (MASK_BYTES[family][prefix] ??= parser.subnetMaskFromPrefixLength(prefix).toByteArray());
}

/**
 * The network `address/prefix` starts at: the address's bytes AND ipaddr.js's subnet
 * mask, as ipaddr.js's own networkAddressFromCIDR computes it, without formatting and
 * re-parsing a CIDR string (this runs once per prefix length on every checked request).
 */
export function networkAddress(address: Address, prefix: number): Address {
  const family: Family = address.kind() === "ipv6" ? "ipv6" : "ipv4";
  const mask = maskBytes(family, prefix);
  const bytes = address.toByteArray().map((byte, i) => byte & (mask[i] ?? 0));
  return ipaddr.fromByteArray(bytes);
}

/** The canonical key of the /prefix network holding `address` (same text as a stored rule). */
export function networkKey(address: Address, prefix: number): string {
  return `${formatAddress(networkAddress(address, prefix))}/${prefix}`;
}

/**
 * A network as typed by an admin → its canonical form. A bare address is a /32 or
 * /128; host bits set is refused (with the network meant) rather than silently
 * widened, because "10.1.2.3/8" usually means the admin meant /32 or mistyped.
 * An IPv4-mapped IPv6 network of /96 or longer becomes the IPv4 network it covers.
 */
export function parseNetwork(input: string): ParseResult<Network> {
  const text = input.trim();
  if (text === "") return fail("must not be empty");
  const slash = text.indexOf("/");
  const addressPart = slash === -1 ? text : text.slice(0, slash);
  const prefixPart = slash === -1 ? null : text.slice(slash + 1);

  const parsed = parseAddress(addressPart);
  if (!parsed.ok) return parsed;
  // Family as typed: a mapped address keeps IPv6 prefix lengths until converted below.
  const typedV6 = addressPart.includes(":");
  const typedMax = typedV6 ? MAX_PREFIX.ipv6 : MAX_PREFIX.ipv4;

  let prefix = typedMax;
  if (prefixPart !== null) {
    if (!PREFIX_LENGTH.test(prefixPart)) return fail(`"/${prefixPart}" is not a prefix length (a whole number 0-${typedMax})`);
    prefix = Number(prefixPart);
    if (prefix > typedMax) return fail(`prefix length /${prefix} is out of range: ${typedV6 ? "IPv6" : "IPv4"} allows 0-${typedMax}`);
  }

  let address = parsed.value;
  if (typedV6 && address.kind() === "ipv4") {
    // ::ffff:a.b.c.d/p (p ≥ 96) covers exactly the IPv4 network a.b.c.d/(p - 96).
    if (prefix < MAPPED_PREFIX) {
      return fail(`"${text}" spans beyond the IPv4-mapped range ::ffff:0:0/96; write the IPv4 network instead`);
    }
    prefix -= MAPPED_PREFIX;
  }

  const family: Family = address.kind() === "ipv6" ? "ipv6" : "ipv4";
  const network = networkAddress(address, prefix);
  if (formatAddress(network) !== formatAddress(address)) {
    return fail(`host bits set: did you mean ${formatAddress(network)}/${prefix}?`);
  }
  address = network;
  return { ok: true, value: { family, address, prefix, cidr: `${formatAddress(address)}/${prefix}` } };
}
