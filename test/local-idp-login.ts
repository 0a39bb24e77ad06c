// Drives the local IdP's login and consent pages (scripts/idp.mjs) with fetch, as a browser
// would: from an authorization URL (Gatehouse's /sso/start redirect, or one a test built)
// through the login form and the consent form to the client's redirect URI. Cookies are
// kept per name and path, since the IdP scopes each interaction's cookies to its own path.

/** The local IdP of this test run (test/local-idp-setup.mjs): `inject("localIdp")`. */
export type LocalIdp = {
  issuer: string;
  /** A client registered for the tests' PUBLIC_ORIGIN: its redirect URI is Gatehouse's SSO callback. */
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** The client's back-channel logout URI, on loopback: GET it for every logout token the IdP sent (JSON array). */
  logoutTokensUrl: string;
  /** The demo's IdP accounts (scripts/demo-data.mjs DEMO_SSO), their passwords at the IdP. */
  accounts: { email: string; password: string; name: string }[];
};

export type Credentials = { email: string; password: string };

/**
 * Where the login ended: sent back to the client (`callbackUrl`, with a `code`, or an
 * `error` when refused there), or left on an IdP page (the login form again, 401, with its
 * alert, for unknown credentials).
 */
export type LocalIdpLogin = { ok: true; callbackUrl: URL } | { ok: false; status: number; message: string };

type Cookie = { name: string; value: string; path: string };

/** The IdP's cookies of one browser: pass the same jar to sign in and then to sign out. */
export class CookieJar {
  #cookies: Cookie[] = [];

  store(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";").map((s) => s.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attribute = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const path = attribute("path") ?? "/";
      const expires = attribute("expires");
      const gone = value === "" || attribute("max-age") === "0" || (expires !== undefined && Date.parse(expires) <= Date.now());
      this.#cookies = this.#cookies.filter((c) => c.name !== name || c.path !== path);
      if (!gone) this.#cookies.push({ name, value, path });
    }
  }

  header(url: URL): string {
    const applies = (path: string) => url.pathname === path || url.pathname.startsWith(path.endsWith("/") ? path : `${path}/`);
    return this.#cookies.filter((c) => applies(c.path)).map((c) => `${c.name}=${c.value}`).join("; ");
  }
}

const MAX_STEPS = 12;

/** Follows the IdP's pages from `authorizationUrl` with these credentials; the outcome as a value. */
export async function attemptLocalIdpLogin(authorizationUrl: URL | string, credentials: Credentials, jar = new CookieJar()): Promise<LocalIdpLogin> {
  const idpOrigin = new URL(authorizationUrl).origin;
  let url = new URL(authorizationUrl);
  let form: Record<string, string> | null = null;
  for (let step = 0; step < MAX_STEPS; step++) {
    const headers = new Headers({ cookie: jar.header(url) });
    if (form) headers.set("content-type", "application/x-www-form-urlencoded");
    const res = await fetch(url, { method: form ? "POST" : "GET", headers, body: form ? new URLSearchParams(form) : null, redirect: "manual" });
    jar.store(res);
    const location = res.headers.get("location");
    if (location !== null) {
      await res.body?.cancel();
      const next = new URL(location, url);
      if (next.origin !== idpOrigin) return { ok: true, callbackUrl: next };
      [url, form] = [next, null];
      continue;
    }
    const html = await res.text();
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    if (res.status !== 200 || action === undefined) {
      const alert = /<p role="alert">([^<]*)<\/p>/.exec(html)?.[1];
      return { ok: false, status: res.status, message: alert ?? html.slice(0, 200) };
    }
    [url, form] = [new URL(action, url), action.endsWith("/login") ? { ...credentials } : {}];
  }
  throw new Error(`the local IdP's login did not finish in ${MAX_STEPS} steps`);
}

/** Signs in at the local IdP and consents: the client's redirect URI with its `code` (throws when the IdP refused). */
export async function loginAtLocalIdp(authorizationUrl: URL | string, credentials: Credentials, jar = new CookieJar()): Promise<URL> {
  const login = await attemptLocalIdpLogin(authorizationUrl, credentials, jar);
  if (!login.ok) throw new Error(`the local IdP refused the login (${login.status}): ${login.message}`);
  return login.callbackUrl;
}

/**
 * Signs the browser of `jar` out of the IdP at `issuer` (its end_session page, "Sign out"):
 * the IdP then posts a logout token to each client of that session with a back-channel
 * logout URI. Resolves once the IdP has answered, after those posts.
 */
export async function logoutAtLocalIdp(issuer: string, jar: CookieJar): Promise<void> {
  const start = new URL(`${issuer}/session/end`);
  const page = await fetch(start, { headers: { cookie: jar.header(start) } });
  jar.store(page);
  const html = await page.text();
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)">/.exec(html)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !xsrf) throw new Error(`the local IdP offered no sign-out form (${page.status})`);
  const confirm = new URL(action, start);
  const res = await fetch(confirm, {
    method: "POST",
    headers: { cookie: jar.header(confirm), "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ xsrf, logout: "yes" }),
    redirect: "manual",
  });
  await res.body?.cancel();
  if (res.status !== 303 && res.status !== 302) throw new Error(`the local IdP did not sign out (${res.status})`);
}
