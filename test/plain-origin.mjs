// A product origin that is not a Worker: a plain Node HTTP server, as an integrator runs
// behind Gatehouse's ORIGIN_URL (docs/integrate.md). It uses only what the product package
// gives an integrator (packages/product): it verifies the identity assertion against
// Gatehouse's JWKS, and asks Gatehouse for step-up and records audit events over the
// product HTTP API with its PRODUCT_API_TOKENS credential. test/plain-origin.test.ts drives
// it through Gatehouse (test/plain-origin-setup.mjs starts it).
//
//   GET  /                  public: { hello, signedIn } (no assertion needed)
//   GET  /whoami            the verified claims and the proxy headers this request carried
//   POST /notes/:id/delete  step-up NOTE_DELETE, then the app.note.deleted audit event
import { createServer } from "node:http";
import { createAssertionVerifier, createProductApiClient } from "../packages/product/src/index.ts";

/** The proxy headers an origin reads for the client's address and the public host and scheme. */
const PROXY_HEADERS = ["cf-connecting-ip", "x-forwarded-for", "x-real-ip", "x-forwarded-host", "x-forwarded-proto", "forwarded"];

/**
 * @param {{ gatehouseUrl: string; token: string; issuer: string; audience: string; now: () => number }} settings
 *   where Gatehouse answers this server, its product credential, the assertion's iss and aud,
 *   and the clock the verifier reads (the test's).
 */
export function startPlainOrigin(settings) {
  const verify = createAssertionVerifier({
    jwksUrl: `${settings.gatehouseUrl}/_gatehouse/.well-known/jwks.json`,
    issuer: settings.issuer,
    audience: settings.audience,
    now: settings.now,
  });
  const gatehouse = createProductApiClient({ gatehouseUrl: settings.gatehouseUrl, token: settings.token });

  // Every answer of this origin says so, to tell it apart from Gatehouse's own answers.
  const json = (res, status, body) => res.writeHead(status, { "content-type": "application/json", "x-answered-by": "plain-origin" }).end(JSON.stringify(body));
  const refusal = ({ ok, status, ...body }) => body;

  async function handle(req, res) {
    const url = new URL(req.url ?? "/", "http://origin");
    const headers = new Headers(Object.entries(req.headers).flatMap(([name, value]) => (typeof value === "string" ? [[name, value]] : [])));
    const identity = await verify(new Request(url, { headers }));
    if (req.method === "GET" && url.pathname === "/") return json(res, 200, { hello: "anyone", signedIn: identity.ok });
    if (!identity.ok) return json(res, identity.status, refusal(identity));
    const { claims, token: assertion } = identity;

    if (req.method === "GET" && url.pathname === "/whoami") {
      const received = Object.fromEntries(PROXY_HEADERS.map((name) => [name, headers.get(name)]));
      return json(res, 200, { claims, received });
    }
    const deletion = /^\/notes\/([\w-]+)\/delete$/.exec(url.pathname);
    if (req.method === "POST" && deletion) {
      const noteId = deletion[1];
      const stepUp = await gatehouse.requireStepUp(assertion, "NOTE_DELETE");
      if (!stepUp.ok) return json(res, stepUp.status, refusal(stepUp));
      const event = { action: "app.note.deleted", outcome: "SUCCESS", targetType: "note", targetId: noteId, ip: headers.get("x-forwarded-for") ?? undefined };
      const recorded = await gatehouse.recordAuditEvent(assertion, event);
      if (!recorded.ok) return json(res, recorded.status === 401 ? 401 : 503, refusal(recorded));
      return json(res, 200, { deleted: noteId, by: claims.sub, audit: { id: recorded.id, seq: recorded.seq } });
    }
    return json(res, 404, { error: "NOT_FOUND", message: "No such page" });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => json(res, 500, { error: "ORIGIN_FAILED", message: String(error) }));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((done) => server.close(done)) });
    });
  });
}
