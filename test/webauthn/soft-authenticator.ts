// A software WebAuthn authenticator for workerd tests: it builds what a browser and a platform
// authenticator would send (clientDataJSON, authenticator data, a "none" attestation in CBOR,
// ES256 assertions) with WebCrypto alone, and has knobs to get each part wrong on purpose.

import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { fromBase64Url, randomBytes, toBase64Url } from "../../src/lib/crypto";
import { type CborValue, concatBytes, encodeCbor } from "./cbor";

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;
const COSE_ALG_ES256 = -7;
const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;

/** "increment": each assertion counts up from the last; "zero": always 0, as synced passkeys do. */
export type CounterMode = "increment" | "zero";

export type SoftCredential = {
  /** The credential id, base64url. */
  readonly id: string;
  readonly rpId: string;
  /** The user handle the relying party gave at registration (options.user.id), base64url. */
  readonly userHandle: string;
  readonly keyPair: CryptoKeyPair;
  /** Backup eligible and backed up (BE and BS set). */
  readonly synced: boolean;
  readonly counterMode: CounterMode;
  signCount: number;
};

/** Knobs both ceremonies take; each left out means "as a real browser and authenticator would". */
export type CeremonyKnobs = {
  /** clientDataJSON's origin (default: the authenticator's origin). */
  origin?: string;
  /** The RP ID whose hash goes into the authenticator data (default: the options' RP ID). */
  rpId?: string;
  /** clientDataJSON's challenge (default: the options' challenge). */
  challenge?: string;
  /** clientDataJSON's type (default: "webauthn.create" or "webauthn.get"). */
  type?: string;
  /** The UV flag (default true). */
  userVerified?: boolean;
  /** The UP flag (default true). */
  userPresent?: boolean;
  /** BE and BS flags (default: off at registration, the credential's own at sign-in). */
  synced?: boolean;
};

export type RegisterKnobs = CeremonyKnobs & {
  /** The sign count in the attested authenticator data, and where later sign-ins count from (default 0). */
  counter?: number;
  /** Default: the authenticator's. */
  counterMode?: CounterMode;
  /** Register even when the options exclude a credential this authenticator holds (a real one refuses). */
  ignoreExcludeCredentials?: boolean;
};

export type AuthenticateKnobs = CeremonyKnobs & {
  /** The sign count to report (and count on from), e.g. one lower than the last to go backwards. */
  counter?: number;
  /** Sign with this credential (held or not, e.g. another user's) instead of choosing from the options. */
  credential?: SoftCredential | string;
};

export type SoftAuthenticatorInit = { origin: string; counterMode?: CounterMode };

export class SoftAuthenticator {
  readonly origin: string;
  readonly counterMode: CounterMode;
  readonly #credentials: SoftCredential[] = [];

  constructor(init: SoftAuthenticatorInit) {
    this.origin = init.origin;
    this.counterMode = init.counterMode ?? "increment";
  }

  get credentials(): readonly SoftCredential[] {
    return this.#credentials;
  }

  credential(id: string): SoftCredential | undefined {
    return this.#credentials.find((credential) => credential.id === id);
  }

  /** Holds a copy of a credential (its own sign count from here on), e.g. another user's to sign with. */
  adopt(credential: SoftCredential): SoftCredential {
    const copy = { ...credential };
    this.#credentials.push(copy);
    return copy;
  }

  async register(options: PublicKeyCredentialCreationOptionsJSON, knobs: RegisterKnobs = {}): Promise<RegistrationResponseJSON> {
    if (!options.pubKeyCredParams.some((param) => param.alg === COSE_ALG_ES256)) throw new Error("soft authenticator: the options do not accept ES256");
    const excluded = options.excludeCredentials?.find((descriptor) => this.credential(descriptor.id));
    if (excluded && !knobs.ignoreExcludeCredentials) throw new Error(`soft authenticator: holds excluded credential ${excluded.id}`);
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const keyPair = (await crypto.subtle.generateKey(ECDSA_P256, false, ["sign", "verify"])) as CryptoKeyPair;
    const credentialId = randomBytes(16);
    const synced = knobs.synced ?? false;
    const credential: SoftCredential = {
      id: toBase64Url(credentialId),
      rpId,
      userHandle: options.user.id,
      keyPair,
      synced,
      counterMode: knobs.counterMode ?? this.counterMode,
      signCount: knobs.counter ?? 0,
    };
    const publicKey = new Uint8Array((await crypto.subtle.exportKey("raw", keyPair.publicKey)) as ArrayBuffer);
    const authenticatorData = concatBytes(
      await authenticatorDataHead(knobs.rpId ?? rpId, flags(knobs, synced) | FLAG_AT, credential.signCount),
      new Uint8Array(16), // AAGUID: zeros, as "none" attestation allows
      Uint8Array.of(credentialId.length >> 8, credentialId.length & 0xff),
      credentialId,
      coseEs256Key(publicKey),
    );
    const spki = new Uint8Array((await crypto.subtle.exportKey("spki", keyPair.publicKey)) as ArrayBuffer);
    this.#credentials.push(credential);
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: {
        clientDataJSON: this.#clientData("webauthn.create", options.challenge, knobs),
        attestationObject: toBase64Url(noneAttestationObject(authenticatorData)),
        authenticatorData: toBase64Url(authenticatorData),
        transports: ["internal"],
        publicKey: toBase64Url(spki),
        publicKeyAlgorithm: COSE_ALG_ES256,
      },
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
    };
  }

  async authenticate(options: PublicKeyCredentialRequestOptionsJSON, knobs: AuthenticateKnobs = {}): Promise<AuthenticationResponseJSON> {
    const credential = this.#choose(options, knobs.credential);
    credential.signCount = knobs.counter ?? (credential.counterMode === "zero" ? 0 : credential.signCount + 1);
    const authenticatorData = await authenticatorDataHead(knobs.rpId ?? credential.rpId, flags(knobs, credential.synced), credential.signCount);
    const clientDataJSON = this.#clientData("webauthn.get", options.challenge, knobs);
    const clientDataHash = new Uint8Array(await crypto.subtle.digest("SHA-256", fromBase64Url(clientDataJSON)));
    const raw = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, credential.keyPair.privateKey, concatBytes(authenticatorData, clientDataHash));
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: {
        clientDataJSON,
        authenticatorData: toBase64Url(authenticatorData),
        signature: toBase64Url(derSignature(new Uint8Array(raw))),
        userHandle: credential.userHandle,
      },
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
    };
  }

  /** The knob's credential; else the first allowed one held; else (discoverable) the only one held for the RP ID. */
  #choose(options: PublicKeyCredentialRequestOptionsJSON, chosen: SoftCredential | string | undefined): SoftCredential {
    if (typeof chosen === "object") return chosen;
    const found = chosen !== undefined ? this.credential(chosen) : this.#allowed(options);
    if (!found) throw new Error("soft authenticator: no credential to answer these options with");
    return found;
  }

  #allowed(options: PublicKeyCredentialRequestOptionsJSON): SoftCredential | undefined {
    const allowed = options.allowCredentials ?? [];
    if (allowed.length > 0) return allowed.map((descriptor) => this.credential(descriptor.id)).find((credential) => credential !== undefined);
    const rpId = options.rpId ?? new URL(this.origin).hostname;
    const discoverable = this.#credentials.filter((credential) => credential.rpId === rpId);
    if (discoverable.length > 1) throw new Error(`soft authenticator: ${discoverable.length} credentials for ${rpId}, pass the one to use`);
    return discoverable[0];
  }

  #clientData(type: string, challenge: string, knobs: CeremonyKnobs): string {
    const clientData = { type: knobs.type ?? type, challenge: knobs.challenge ?? challenge, origin: knobs.origin ?? this.origin, crossOrigin: false };
    return toBase64Url(new TextEncoder().encode(JSON.stringify(clientData)));
  }
}

/** The credential id a response names. */
export function credentialIdOf(response: RegistrationResponseJSON | AuthenticationResponseJSON): string {
  return response.id;
}

function flags(knobs: CeremonyKnobs, synced: boolean): number {
  return (knobs.userPresent ?? true ? FLAG_UP : 0) | (knobs.userVerified ?? true ? FLAG_UV : 0) | (knobs.synced ?? synced ? FLAG_BE | FLAG_BS : 0);
}

/** A "none" attestation: { fmt: "none", attStmt: {}, authData } in CBOR. */
export function noneAttestationObject(authenticatorData: Uint8Array): Uint8Array {
  return encodeCbor(
    new Map<string, CborValue>([
      ["fmt", "none"],
      ["attStmt", new Map<string, CborValue>()],
      ["authData", authenticatorData],
    ]),
  );
}

/** rpIdHash (32) | flags (1) | signCount (4, big-endian). */
async function authenticatorDataHead(rpId: string, flagBits: number, signCount: number): Promise<Uint8Array> {
  const rpIdHash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(rpId)));
  const counter = new Uint8Array(4);
  new DataView(counter.buffer).setUint32(0, signCount);
  return concatBytes(rpIdHash, Uint8Array.of(flagBits), counter);
}

/** An uncompressed P-256 point (0x04 | x | y) as a COSE_Key: kty EC2, alg ES256, crv P-256. */
function coseEs256Key(point: Uint8Array): Uint8Array {
  return encodeCbor(
    new Map<number, number | Uint8Array>([
      [1, 2],
      [3, COSE_ALG_ES256],
      [-1, 1],
      [-2, point.slice(1, 33)],
      [-3, point.slice(33, 65)],
    ]),
  );
}

/** One unsigned big-endian integer as a DER INTEGER: leading zeros dropped, a 0x00 put back when the high bit is set. */
function derInteger(unsigned: Uint8Array): Uint8Array {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start++;
  const body = unsigned.subarray(start);
  const positive = (body[0] ?? 0) & 0x80 ? concatBytes(Uint8Array.of(0), body) : body;
  return concatBytes(Uint8Array.of(0x02, positive.length), positive);
}

/** WebCrypto's ECDSA P-256 signature (r | s, 32 bytes each) as WebAuthn wants it: DER SEQUENCE { r, s }. */
export function derSignature(raw: Uint8Array): Uint8Array {
  if (raw.length !== 64) throw new Error(`soft authenticator: a P-256 signature is 64 bytes, not ${raw.length}`);
  const r = derInteger(raw.subarray(0, 32));
  const s = derInteger(raw.subarray(32));
  return concatBytes(Uint8Array.of(0x30, r.length + s.length), r, s);
}
