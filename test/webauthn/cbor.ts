// A minimal CBOR encoder (RFC 8949), enough for what an authenticator writes: the attestation
// object ({ fmt, attStmt, authData }) and a COSE public key. Definite lengths only, map keys in
// the order given (the caller writes them in CTAP2's canonical order).

export type CborValue = number | string | Uint8Array | CborMap;
export type CborMap = Map<number | string, CborValue>;

const MAJOR_UNSIGNED = 0;
const MAJOR_NEGATIVE = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_MAP = 5;

/** The initial byte(s) of a data item: major type and argument (a length, or the integer itself). */
function head(major: number, argument: number): Uint8Array {
  if (!Number.isSafeInteger(argument) || argument < 0) throw new RangeError(`CBOR argument out of range: ${argument}`);
  const type = major << 5;
  if (argument < 24) return Uint8Array.of(type | argument);
  if (argument < 0x100) return Uint8Array.of(type | 24, argument);
  if (argument < 0x10000) return Uint8Array.of(type | 25, argument >> 8, argument & 0xff);
  if (argument < 0x1_0000_0000) {
    const bytes = new Uint8Array(5);
    bytes[0] = type | 26;
    new DataView(bytes.buffer).setUint32(1, argument);
    return bytes;
  }
  const bytes = new Uint8Array(9);
  bytes[0] = type | 27;
  new DataView(bytes.buffer).setBigUint64(1, BigInt(argument));
  return bytes;
}

function encodeInto(value: CborValue, out: Uint8Array[]): void {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new TypeError(`CBOR encoder writes integers only: ${value}`);
    out.push(value >= 0 ? head(MAJOR_UNSIGNED, value) : head(MAJOR_NEGATIVE, -1 - value));
  } else if (typeof value === "string") {
    const text = new TextEncoder().encode(value);
    out.push(head(MAJOR_TEXT, text.length), text);
  } else if (value instanceof Uint8Array) {
    out.push(head(MAJOR_BYTES, value.length), value);
  } else {
    out.push(head(MAJOR_MAP, value.size));
    for (const [key, item] of value) {
      encodeInto(key, out);
      encodeInto(item, out);
    }
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

export function encodeCbor(value: CborValue): Uint8Array {
  const out: Uint8Array[] = [];
  encodeInto(value, out);
  return concatBytes(...out);
}
