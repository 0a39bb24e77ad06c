// A real OpenID Provider on loopback, for the tests, the browser scenarios and `npm start`:
// panva's oidc-provider (a certified implementation), so Gatehouse's relying party is tested
// against the protocol as providers speak it, not against a mock written alongside it.
//
// `startLocalIdp({ port, host, clients, accounts })` → `{ issuer, close() }`; run as a script
// (`node scripts/idp.mjs`) it serves the demo's client and accounts (scripts/demo-data.mjs) on
// IDP_PORT (default 9400) and prints its issuer. Choices, and why:
// - Loopback only (127.0.0.0/8 or localhost), plain http: the issuer is
//   `http://127.0.0.1:<port>`, the one kind of plain-http issuer Gatehouse accepts. Port 0
//   picks a free port; the issuer is known once listening, so the provider is built after `listen`.
// - Authorization code with PKCE S256 required of every client (`pkce.required`); `code` is
//   the only response type; scopes `openid email profile`. The scopes' claims go into the ID
//   token too (`conformIdTokenClaims: false`), so a relying party needs no UserInfo call;
//   the login sets `amr: ["pwd"]`.
// - Back-Channel Logout 1.0 on: a client with `backchannel_logout_uri` and
//   `backchannel_logout_session_required` (gatehouseClient below) gets a `sid` in its ID
//   tokens, and signing out at end_session posts it a logout token. oidc-provider refuses
//   outgoing requests to loopback addresses (SSRF protection); `fetch` lifts that for loopback
//   targets only, because here the relying party is a local Gatehouse.
// - Login and consent pages of our own instead of devInteractions, which signs in any login
//   with any password: only a known account with its password signs in (anything else gets
//   the login page again, 401, "Incorrect email or password."). The browser scenarios type
//   into them. oidc-provider's sign-out and error pages are replaced by the same plain pages,
//   which load nothing from elsewhere (its defaults load a web font).
// - Signing keys (RS256) and cookie keys are generated at every start and kept in memory, as
//   is everything else (oidc-provider's in-memory adapter, hence its warning): nothing to leak
//   or go stale. A restart ends the IdP's sessions and codes, never changes an account's `sub`.
// - oidc-provider 9 asks for Node 22 LTS or later and warns on Node 20; it runs there too.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import Provider, { errors } from "oidc-provider";
import { DEMO_IDP_PORT, DEMO_SSO, localPublicOrigin } from "./demo-data.mjs";
import { gatehousePath } from "./gatehouse-path.mjs";

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3})$/;
const MAX_FORM_BYTES = 4096;

/**
 * How the provider knows a Gatehouse deployment at `publicOrigin`: its redirect URI and its
 * back-channel logout URI (with `sid`), a confidential client (client_secret_basic or _post).
 */
export function gatehouseClient({ publicOrigin, clientId, clientSecret }) {
  const api = `${publicOrigin}${gatehousePath()}/api/auth/sso`;
  return {
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [`${api}/callback`],
    response_types: ["code"],
    grant_types: ["authorization_code"],
    backchannel_logout_uri: `${api}/backchannel-logout`,
    backchannel_logout_session_required: true,
  };
}

/** An account's `sub` when it names none: derived from its email, so it survives restarts. */
const subjectOf = (account) => account.sub ?? `acct_${createHash("sha256").update(account.email.toLowerCase()).digest("base64url").slice(0, 16)}`;

/** Accounts `{ email, password, givenName, familyName, emailVerified = true, sub? }` by email and by sub. */
function accountBook(accounts) {
  const byEmail = new Map();
  const bySub = new Map();
  for (const a of accounts) {
    const account = { ...a, sub: subjectOf(a), emailVerified: a.emailVerified ?? true };
    byEmail.set(a.email.trim().toLowerCase(), account);
    bySub.set(account.sub, account);
  }
  const digest = (s) => createHash("sha256").update(String(s)).digest();
  return {
    /** The account for these credentials, or null (the same work either way). */
    check(email, password) {
      const account = byEmail.get(String(email).trim().toLowerCase());
      const same = timingSafeEqual(digest(password), digest(account?.password ?? randomBytes(16)));
      return account && same ? account : null;
    },
    find: (sub) => bySub.get(sub) ?? null,
  };
}

// ---- Pages ----

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A whole page, with nothing loaded from elsewhere (the browser scenarios run offline). */
const htmlPage = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Local IdP</title>
<style>body{font:16px system-ui;max-width:22rem;margin:3rem auto}label,input,button{display:block;width:100%;margin:.4rem 0}[role=alert]{color:#b00}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;

function page(res, status, title, body) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(htmlPage(title, body));
}

/** oidc-provider's own pages (sign-out, errors) in the same plain form as ours. */
const renderInto = (ctx, title, body) => {
  ctx.type = "html";
  ctx.body = htmlPage(title, body);
};
const providerPages = {
  logoutSource: async (ctx, form) =>
    renderInto(ctx, "Sign out of the local IdP", `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button><button type="submit" form="op.logoutForm">Stay signed in</button>`),
  postLogoutSuccessSource: async (ctx) => renderInto(ctx, "Signed out", "<p>You have signed out of the local IdP.</p>"),
  renderError: async (ctx, out) => renderInto(ctx, "Something went wrong", `<p role="alert">${escapeHtml(out.error)}: ${escapeHtml(out.error_description ?? "")}</p>`),
};

// ---- The provider ----

function providerConfiguration({ clients, book }) {
  return {
    clients,
    async findAccount(_ctx, sub) {
      const account = book.find(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          email: account.email,
          email_verified: account.emailVerified,
          name: `${account.givenName} ${account.familyName}`,
          given_name: account.givenName,
          family_name: account.familyName,
        }),
      };
    },
    // `amr` (how the account signed in) rides on `openid`: oidc-provider masks ID token claims by scope.
    claims: { openid: ["sub", "amr"], email: ["email", "email_verified"], profile: ["name", "given_name", "family_name"] },
    scopes: ["openid", "email", "profile"],
    responseTypes: ["code"],
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource: providerPages.logoutSource, postLogoutSuccessSource: providerPages.postLogoutSuccessSource },
    },
    renderError: providerPages.renderError,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // Short, fixed lifetimes (seconds): a sign-in takes minutes, and the IdP forgets everything at exit anyway.
    ttl: { AuthorizationCode: 60, IdToken: 600, AccessToken: 600, Interaction: 600, Grant: 86_400, Session: 86_400 },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    fetch(url, options) {
      if (LOOPBACK_HOST.test(new URL(url).hostname)) delete options.dispatcher;
      return globalThis.fetch(url, options);
    },
  };
}

async function signingKey() {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: "RS256", use: "sig" };
}

// ---- The login and consent pages ----

function loginPage(res, uid, { email = "", error = null, status = 200 } = {}) {
  page(res, status, "Sign in to the local IdP", `${error ? `<p role="alert">${escapeHtml(error)}</p>` : ""}
<form method="post" action="/interaction/${uid}/login">
<label>Email <input name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}" ${email ? "" : "autofocus"}></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required ${email ? "autofocus" : ""}></label>
<button type="submit">Sign in</button>
</form><p><a href="/interaction/${uid}/abort">Cancel</a></p>`);
}

function consentPage(res, uid, clientId, scopes) {
  page(res, 200, "Allow access", `<p>${escapeHtml(clientId)} asks for: ${escapeHtml(scopes.join(", "))}.</p>
<form method="post" action="/interaction/${uid}/consent"><button type="submit">Allow</button></form>
<p><a href="/interaction/${uid}/abort">Cancel</a></p>`);
}

async function readForm(req) {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > MAX_FORM_BYTES) throw new Error("form too large");
  }
  return new URLSearchParams(body);
}

/** The grant for the consent prompt's missing scopes and claims (oidc-provider's own example). */
async function grantConsent(provider, { grantId, prompt: { details }, params, session }) {
  const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(" "));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  const saved = await grant.save();
  return grantId ? {} : { grantId: saved };
}

/** Handles `/interaction/<uid>[/login|/consent|/abort]`; false for any other path. */
function interactionRoutes(provider, book) {
  return async (req, res) => {
    const match = /^\/interaction\/([\w-]+)(?:\/(login|consent|abort))?$/.exec(new URL(req.url, "http://idp").pathname);
    if (!match) return false;
    const [, uid, step = "show"] = match;
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== uid) throw new errors.SessionNotFound("interaction mismatch");
      const prompt = details.prompt.name;
      if (step === "show" && req.method === "GET") {
        if (prompt === "login") loginPage(res, uid, { email: details.params.login_hint ?? "" });
        else consentPage(res, uid, details.params.client_id, String(details.params.scope).split(" "));
      } else if (step === "login" && req.method === "POST" && prompt === "login") {
        const form = await readForm(req);
        const account = book.check(form.get("email") ?? "", form.get("password") ?? "");
        if (!account) loginPage(res, uid, { email: form.get("email") ?? "", error: "Incorrect email or password.", status: 401 });
        else await provider.interactionFinished(req, res, { login: { accountId: account.sub, amr: ["pwd"] } }, { mergeWithLastSubmission: false });
      } else if (step === "consent" && req.method === "POST" && prompt === "consent") {
        await provider.interactionFinished(req, res, { consent: await grantConsent(provider, details) }, { mergeWithLastSubmission: true });
      } else if (step === "abort" && req.method === "GET") {
        await provider.interactionFinished(req, res, { error: "access_denied", error_description: "The user cancelled the sign-in" }, { mergeWithLastSubmission: false });
      } else {
        page(res, 405, "Not allowed here", "<p>This step does not take that request.</p>");
      }
    } catch (err) {
      if (!(err instanceof errors.SessionNotFound)) throw err;
      page(res, 400, "Sign-in expired", "<p>This sign-in is no longer in progress: start again from the application.</p>");
    }
    return true;
  };
}

// ---- The server ----

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once("error", (err) =>
      reject(err.code === "EADDRINUSE" ? new Error(`the local IdP cannot listen on ${host}:${port}: the port is taken (set IDP_PORT to another)`) : err),
    );
    server.listen(port, host, resolve);
  });
}

/**
 * Starts an OpenID Provider on `host:port` (loopback only; port 0 picks a free one) for
 * `clients` (oidc-provider client metadata, e.g. gatehouseClient(…)) and `accounts`
 * (`{ email, password, givenName, familyName, emailVerified?, sub? }`).
 */
export async function startLocalIdp({ port = 0, host = "127.0.0.1", clients = [], accounts = [] } = {}) {
  if (!LOOPBACK_HOST.test(host)) throw new Error(`the local IdP listens on loopback only, not ${host}`);
  const server = createServer();
  await listen(server, port, host);
  const issuer = `http://${host}:${server.address().port}`;
  const book = accountBook(accounts);
  const provider = new Provider(issuer, { ...providerConfiguration({ clients, book }), jwks: { keys: [await signingKey()] } });
  const oidc = provider.callback();
  const interactions = interactionRoutes(provider, book);
  server.on("request", async (req, res) => {
    try {
      if (!(await interactions(req, res))) oidc(req, res);
    } catch (err) {
      console.error("local IdP:", err);
      if (!res.headersSent) page(res, 500, "Something went wrong", "<p>The local IdP failed; see its log.</p>");
    }
  });
  return {
    issuer,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The demo's IdP (`npm start`, `node scripts/idp.mjs`): the demo client for `publicOrigin`, the demo accounts, on IDP_PORT. */
export async function startDemoIdp(publicOrigin) {
  const port = Number(process.env.IDP_PORT ?? DEMO_IDP_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`IDP_PORT must be a port number, not ${process.env.IDP_PORT}`);
  const client = gatehouseClient({ publicOrigin, clientId: DEMO_SSO.clientId, clientSecret: DEMO_SSO.clientSecret });
  return startLocalIdp({ port, clients: [client], accounts: DEMO_SSO.accounts });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const idp = await startDemoIdp(localPublicOrigin(process.env.PORT ?? "8787")).catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
  console.log(idp.issuer);
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => idp.close().then(() => process.exit(0)));
}
