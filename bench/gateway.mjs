// Gateway mode against a bare pass-through (bench/passthrough) in front of the same demo
// product: the targets for the edge-check rounds, each checked once for real content first.
//
// Two pairs, both with alice's session cookie on every request:
//   - GET / (public): the product renders the same landing page either way, so the pair
//     differs only by what sits in front of it: Gatehouse's edge check, its (reused)
//     assertion and its forwarding, against a Worker that forwards the request as it came.
//   - GET /app (protected): the product verifies an assertion and greets the user. Through
//     Gatehouse that is Gatehouse's own token; through the pass-through, a token with the same
//     claims signed by the pass-through's key (its JWKS is what the product fetches there),
//     sent by the client and forwarded untouched. So the product's verification is in both.
const TIMEOUT_MS = 10_000;
const hostOf = (server) => new URL(server.url).origin;

async function get(url, headers) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${body.slice(0, 300)}`);
  return body;
}

/** A token with `claims` (fresh iat/exp/jti) signed by the pass-through, valid 60 s. */
async function minted(passthrough, claims) {
  const res = await fetch(`${passthrough.url}/__bench/assertion`, { method: "POST", body: JSON.stringify(claims), signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (res.status !== 200) throw new Error(`pass-through mint: ${res.status} ${await res.text()}`);
  return res.text();
}

/**
 * The four targets (gwHome, ptHome, gwApp, ptApp) for `interleaved`, after checking that
 * each answers 200 with the page it should: the product's greeting names the signed-in user.
 */
export async function gatewayTargets(gateway, passthrough, cookie, on) {
  // The product's own name for the header, imported only here: Node strips the types (24+,
  // as `npm run bench` runs), and `node bench/run.mjs --render` never gets this far.
  const { ASSERTION_HEADER } = await import("../packages/product/src/claims.ts");
  const gw = hostOf(gateway);
  const { claims } = JSON.parse(await get(`${gw}/whoami`, { cookie }));
  if (claims.sub !== "usr_alice") throw new Error(`gateway /whoami named ${claims.sub}, not usr_alice`);
  const greeting = `Hello, ${claims.name}`;
  const ptApp = { ...on(passthrough, "/app", cookie), headers: {} };
  // Before each of its runs (warm-up and run take seconds), a fresh token: the product
  // refuses one older than 60 s.
  ptApp.before = async () => {
    ptApp.headers = { [ASSERTION_HEADER]: await minted(passthrough, claims) };
  };
  await ptApp.before();
  const pages = [
    [`${gw}/`, { cookie }, "<h1>Acme Notes</h1>"],
    [`${passthrough.url}/`, { cookie }, "<h1>Acme Notes</h1>"],
    [`${gw}/app`, { cookie }, greeting],
    [`${passthrough.url}/app`, { cookie, ...ptApp.headers }, greeting],
  ];
  for (const [url, headers, expected] of pages) {
    if (!(await get(url, headers)).includes(expected)) throw new Error(`GET ${url}: no "${expected}" in the page`);
  }
  return {
    gwHome: { ...on(gateway, "/", cookie), url: `${gw}/` },
    ptHome: on(passthrough, "/", cookie),
    gwApp: { ...on(gateway, "/app", cookie), url: `${gw}/app` },
    ptApp,
  };
}
