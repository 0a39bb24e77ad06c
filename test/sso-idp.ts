/**
 * A test-controlled OpenID Provider, served through `vi.spyOn(globalThis, "fetch")` (as the
 * email hook's receiver is, test/email-hook.test.ts): discovery, a JWKS of a key the test
 * holds, a token endpoint that checks the code, the PKCE verifier, the redirect URI and the
 * client's authentication, and ID tokens whose claims (and signing key, or none) each test
 * can override. A second key signs forged tokens. Helpers mint back-channel logout tokens.
 * Everything Gatehouse sends it is kept in `requests`.
 */
import { env } from "cloudflare:workers";
import { type CryptoKey, type JWK, SignJWT, exportJWK, generateKeyPair } from "jose";
import { vi } from "vitest";
import { createDb } from "../src/db/client";
import { ssoConnections, ssoDomains } from "../src/db/schema";
import { randomId } from "../src/lib/crypto";
import { sealSecret } from "../src/stepup/secret-box";
import { type Harness, START_MS, type TestClock } from "./helpers";
import { Jar } from "./snapshot-fixtures";

export type IdpUser = { sub: string; email: string; email_verified?: boolean; name?: string; amr?: string[]; sid?: string };

/** Which key signs an ID token: the one the JWKS publishes, the forger's (same `kid`), one of an unknown `kid`, or none (`alg: none`). */
export type Signer = "idp" | "forger" | "unknown-kid" | "none";

type PendingCode = { clientId: string; redirectUri: string; challenge: string; method: string; nonce: string | null; user: IdpUser; used: boolean };

const b64url = (text: string) => btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const sha256b64url = async (text: string) => {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

export const BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";

export class TestIdp {
  readonly clientId = `client-${randomId().slice(0, 8)}`;
  readonly clientSecret = `secret-${randomId()}`;
  readonly kid = "idp-key-1";
  /** What the discovery document says, on top of the defaults (a key set to undefined is left out). */
  document: Record<string, unknown> = {};
  /** Endpoints that do not answer (a network error), or answer 503. */
  readonly down = new Set<"discovery" | "token" | "jwks">();
  /** Claims of the next ID tokens, over the defaults; a key set to undefined is left out. */
  claims: Record<string, unknown> = {};
  signer: Signer = "idp";
  readonly requests: Request[] = [];
  private readonly codes = new Map<string, PendingCode>();
  private keys: { idp: CryptoKeyPair; forger: CryptoKeyPair; jwk: JWK } | null = null;

  constructor(
    readonly clock: TestClock,
    readonly issuer = `https://idp-${randomId().slice(0, 8)}.example.test`,
  ) {}

  private get nowSeconds() {
    return Math.floor(this.clock.ms / 1000);
  }

  /** Generates the keys and serves the provider from globalThis.fetch until the test's spies are restored. */
  async install(): Promise<this> {
    const idp = (await generateKeyPair("ES256", { extractable: true })) as CryptoKeyPair;
    const forger = (await generateKeyPair("ES256", { extractable: true })) as CryptoKeyPair;
    this.keys = { idp, forger, jwk: { ...(await exportJWK(idp.publicKey)), kid: this.kid, alg: "ES256", use: "sig" } };
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      this.requests.push(request.clone());
      return this.answer(request);
    });
    return this;
  }

  discoveryDocument(): Record<string, unknown> {
    const base: Record<string, unknown> = {
      issuer: this.issuer,
      authorization_endpoint: `${this.issuer}/authorize`,
      token_endpoint: `${this.issuer}/token`,
      jwks_uri: `${this.issuer}/jwks`,
      end_session_endpoint: `${this.issuer}/logout`,
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["ES256"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
    };
    const doc = { ...base, ...this.document };
    for (const [k, v] of Object.entries(doc)) if (v === undefined) delete doc[k];
    return doc;
  }

  /** The body of PUT /api/tenant/sso for this provider. */
  connectionBody(domains: string[], extra: Record<string, unknown> = {}) {
    return { issuer: this.issuer, clientId: this.clientId, clientSecret: this.clientSecret, domains, jitProvisioning: false, defaultRole: "member", requireSso: false, ...extra };
  }

  private async answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (!request.url.startsWith(`${this.issuer}/`)) return new Response("not this provider", { status: 404 });
    const path = url.pathname.slice(new URL(this.issuer).pathname.replace(/\/$/, "").length);
    if (path === "/.well-known/openid-configuration") return this.serve("discovery", () => Response.json(this.discoveryDocument()));
    if (path === "/jwks") return this.serve("jwks", () => Response.json({ keys: [this.keys?.jwk] }));
    if (path === "/token" && request.method === "POST") return this.serve("token", () => this.token(request));
    return new Response("not found", { status: 404 });
  }

  private async serve(endpoint: "discovery" | "token" | "jwks", answer: () => Response | Promise<Response>): Promise<Response> {
    if (this.down.has(endpoint)) throw new TypeError(`fetch failed: ${endpoint} is down`);
    return answer();
  }

  /**
   * The user signs in at the provider: checks the authorization request Gatehouse sent the
   * browser to, and answers the callback URL the provider would send the browser back to.
   */
  async authorize(authorizationUrl: string, user: IdpUser): Promise<string> {
    const url = new URL(authorizationUrl);
    if (`${url.origin}${url.pathname}` !== this.discoveryDocument().authorization_endpoint) throw new Error(`not this provider's authorization endpoint: ${authorizationUrl}`);
    const p = url.searchParams;
    for (const [name, want] of [["response_type", "code"], ["client_id", this.clientId], ["code_challenge_method", "S256"]] as const) {
      if (p.get(name) !== want) throw new Error(`authorization request ${name} is ${p.get(name)}, not ${want}`);
    }
    if (!p.get("scope")?.split(" ").includes("openid")) throw new Error("authorization request without the openid scope");
    const state = p.get("state");
    const redirectUri = p.get("redirect_uri");
    const challenge = p.get("code_challenge");
    if (!state || !redirectUri || !challenge) throw new Error("authorization request without state, redirect_uri or code_challenge");
    const code = `code-${randomId()}`;
    this.codes.set(code, { clientId: this.clientId, redirectUri, challenge, method: "S256", nonce: p.get("nonce"), user, used: false });
    const back = new URL(redirectUri);
    back.searchParams.set("code", code);
    back.searchParams.set("state", state);
    back.searchParams.set("iss", this.issuer);
    return back.toString();
  }

  private clientAuthenticated(request: Request, form: URLSearchParams): boolean {
    const basic = request.headers.get("authorization");
    if (basic?.startsWith("Basic ")) {
      const [id, secret] = atob(basic.slice(6)).split(":").map((part) => decodeURIComponent(part.replace(/\+/g, " ")));
      return id === this.clientId && secret === this.clientSecret;
    }
    return form.get("client_id") === this.clientId && form.get("client_secret") === this.clientSecret;
  }

  private async token(request: Request): Promise<Response> {
    const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
    const error = (status: number, code: string) => Response.json({ error: code }, { status });
    if (!this.clientAuthenticated(request, form)) return error(401, "invalid_client");
    const pending = this.codes.get(form.get("code") ?? "");
    if (form.get("grant_type") !== "authorization_code" || !pending || pending.used) return error(400, "invalid_grant");
    pending.used = true;
    if (form.get("redirect_uri") !== pending.redirectUri) return error(400, "invalid_grant");
    if ((await sha256b64url(form.get("code_verifier") ?? "")) !== pending.challenge) return error(400, "invalid_grant");
    const idToken = await this.idToken(pending.user, pending.nonce);
    return Response.json({ access_token: `at-${randomId()}`, token_type: "Bearer", expires_in: 300, id_token: idToken });
  }

  /** An ID token for `user` as the provider would issue it now, with this.claims over the defaults, signed by this.signer. */
  async idToken(user: IdpUser, nonce: string | null): Promise<string> {
    const now = this.nowSeconds;
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      aud: this.clientId,
      iat: now,
      exp: now + 300,
      auth_time: now,
      ...(nonce ? { nonce } : {}),
      email_verified: true,
      amr: ["pwd"],
      ...user,
      ...this.claims,
    };
    for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
    return this.sign(claims, "JWT", this.signer);
  }

  /** An OIDC Back-Channel Logout token (typ logout+jwt) for `sub` and/or `sid`, with `claims` over the defaults. */
  async logoutToken(subject: { sub?: string; sid?: string }, claims: Record<string, unknown> = {}, signer: Signer = "idp"): Promise<string> {
    const now = this.nowSeconds;
    const all: Record<string, unknown> = { iss: this.issuer, aud: this.clientId, iat: now, exp: now + 120, jti: `jti-${randomId()}`, events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, ...subject, ...claims };
    for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
    return this.sign(all, "logout+jwt", signer);
  }

  private async sign(claims: Record<string, unknown>, typ: string, signer: Signer): Promise<string> {
    if (!this.keys) throw new Error("install() the provider first");
    if (signer === "none") return `${b64url(JSON.stringify({ alg: "none", typ }))}.${b64url(JSON.stringify(claims))}.`;
    const key: CryptoKey = signer === "idp" ? this.keys.idp.privateKey : this.keys.forger.privateKey;
    const kid = signer === "unknown-kid" ? "some-other-key" : this.kid;
    return new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid, typ }).sign(key);
  }
}

/** A provider for `clock`, installed. */
export const installIdp = (clock: TestClock, issuer?: string) => new TestIdp(clock, issuer).install();

export type ConnectionOptions = { domains: string[]; jitProvisioning?: boolean; defaultRole?: "member" | "admin"; requireSso?: boolean };

/** A connection of `tenantId` to `idp`, written straight to D1 (as PUT /api/tenant/sso saves one, test/sso-connection.test.ts). */
export async function seedConnection(tenantId: string, idp: TestIdp, options: ConnectionOptions): Promise<string> {
  const id = randomId("sso_");
  const db = createDb(env.DB);
  await db.insert(ssoConnections).values({
    id,
    tenantId,
    protocol: "oidc",
    issuer: idp.issuer,
    clientId: idp.clientId,
    clientSecretEnc: await sealSecret(env, idp.clientSecret, id),
    providerMetadata: idp.discoveryDocument(),
    jitProvisioning: options.jitProvisioning ?? false,
    defaultRole: options.defaultRole ?? "member",
    requireSso: options.requireSso ?? false,
    createdAt: START_MS,
    updatedAt: START_MS,
  });
  await db.insert(ssoDomains).values(options.domains.map((domain) => ({ domain, tenantId, connectionId: id })));
  return id;
}

export type BrowserOptions = { email?: string; tenant?: string; returnTo?: string; jar?: Jar; accept?: "html" | "json"; ip?: string };

export const ACCEPT = { html: "text/html,application/xhtml+xml", json: "application/json" } as const;

/** GET /api/auth/sso/start as a browser: its answer, and the jar holding the binding cookie. */
export async function startSso(h: Harness, options: BrowserOptions) {
  const jar = options.jar ?? new Jar();
  const query = new URLSearchParams();
  if (options.email !== undefined) query.set("email", options.email);
  if (options.tenant !== undefined) query.set("tenant", options.tenant);
  if (options.returnTo !== undefined) query.set("returnTo", options.returnTo);
  const res = await h.call(`/api/auth/sso/start?${query}`, { cookie: jar.header, headers: { accept: ACCEPT[options.accept ?? "html"] }, ...(options.ip ? { ip: options.ip } : {}) });
  jar.take(res);
  return { res, jar, location: res.headers.get("location") ?? "" };
}

/** Follows the provider's callback URL in the browser holding `jar`. */
export async function followCallback(h: Harness, callbackUrl: string, jar: Jar, options: Pick<BrowserOptions, "accept" | "ip"> = {}) {
  const url = new URL(callbackUrl);
  const res = await h.call(`${url.pathname}${url.search}`, { cookie: jar.header, headers: { accept: ACCEPT[options.accept ?? "html"] }, ...(options.ip ? { ip: options.ip } : {}) });
  jar.take(res);
  return res;
}

/** The whole sign-in as a browser: start, the user signs in at the provider, the callback. */
export async function ssoSignIn(h: Harness, idp: TestIdp, user: IdpUser, options: BrowserOptions = {}) {
  const started = await startSso(h, { email: user.email, ...options });
  if (started.res.status !== 302) throw new Error(`start answered ${started.res.status} ${JSON.stringify(started.res.body)}`);
  const callbackUrl = await idp.authorize(started.location, user);
  const callback = await followCallback(h, callbackUrl, started.jar, options);
  return { callback, callbackUrl, jar: started.jar, location: callback.headers.get("location") ?? "" };
}
