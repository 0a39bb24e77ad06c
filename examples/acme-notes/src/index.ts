/**
 * Acme Notes: a demo product behind Gatehouse's gateway mode. It has no sign-in of its own;
 * every protected route reads the caller from the verified identity assertion (verified by
 * @gatehouse/product, packages/product: the package an integrator uses),
 * and the tenant comes from its `tid` claim only.
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { object, string } from "zod";
import { type GatehouseRpc, recordNoteEvent } from "./audit";
import { type Note, NoteStore } from "./notes";
import { APP_CSS, CSP, LOGO_SVG, appJs, appPage, landingPage } from "./pages";
import { type AssertionClaims, type AssertionVerifier, createAssertionVerifier, verifyWebhook } from "../../../packages/product/src/index";
import { MAX_WEBHOOK_BODY_BYTES, WebhookInbox } from "./webhooks";

export type Env = {
  /** Service binding to Gatehouse (for its JWKS). */
  GATEHOUSE: Fetcher;
  /** Service binding to Gatehouse's RPC entrypoint, GatehouseService (audit events). */
  GATEHOUSE_RPC: GatehouseRpc;
  /** The `iss` Gatehouse puts in its assertions. */
  ASSERTION_ISSUER: string;
  /** The `aud` Gatehouse signs for this product. */
  ASSERTION_AUDIENCE: string;
  /** Where Gatehouse's own pages live (default "/_gatehouse"). */
  GATEHOUSE_PATH?: string;
  /** The secret Gatehouse signs its product webhooks with (its WEBHOOK_SECRET); unset: webhooks are refused (503). */
  WEBHOOK_SECRET?: string;
};

type AppEnv = { Bindings: Env; Variables: { token: string; claims: AssertionClaims } };

export type AppOptions = { store?: NoteStore; inbox?: WebhookInbox; now?: () => number; jwksCooldownMs?: number };

const noteBody = object({ text: string().trim().min(1, "text is empty").max(500, "text is over 500 characters") }).strict();
// Roles that may delete anyone's note in their tenant; others delete their own.
const MODERATOR_ROLES: readonly string[] = ["owner", "admin"];

function error(status: 400 | 401 | 403 | 404 | 409 | 415 | 503, code: string, message: string, extra: Record<string, unknown> = {}) {
  return Response.json({ error: code, message, ...extra }, { status, headers: { "cache-control": "no-store" } });
}

export function createApp(options: AppOptions = {}) {
  const store = options.store ?? new NoteStore();
  const inbox = options.inbox ?? new WebhookInbox();
  // One verifier (and so one cached JWKS) per Gatehouse binding, built on first use.
  const verifiers = new WeakMap<Fetcher, AssertionVerifier>();
  const verifierFor = (env: Env) => {
    let verifier = verifiers.get(env.GATEHOUSE);
    if (!verifier) {
      verifier = createAssertionVerifier({
        jwksUrl: `https://gatehouse${env.GATEHOUSE_PATH ?? "/_gatehouse"}/.well-known/jwks.json`,
        fetcher: env.GATEHOUSE,
        issuer: env.ASSERTION_ISSUER,
        audience: env.ASSERTION_AUDIENCE,
        ...(options.now ? { now: options.now } : {}),
        ...(options.jwksCooldownMs !== undefined ? { cooldownMs: options.jwksCooldownMs } : {}),
      });
      verifiers.set(env.GATEHOUSE, verifier);
    }
    return verifier;
  };

  const app = new Hono<AppEnv>();

  app.use("*", async (c, next) => {
    await next();
    c.res.headers.set("content-security-policy", CSP);
    c.res.headers.set("x-content-type-options", "nosniff");
    // Same-origin requests keep their Referer and Origin: Gatehouse brings a refused plain form
    // back to its page by the Referer, and its CSRF check refuses a form whose Origin is "null".
    c.res.headers.set("referrer-policy", "same-origin");
  });

  const requireIdentity = createMiddleware<AppEnv>(async (c, next) => {
    const result = await verifierFor(c.env)(c.req.raw);
    if (!result.ok) return error(result.status, result.error, result.message);
    c.set("token", result.token);
    c.set("claims", result.claims);
    await next();
    c.res.headers.set("cache-control", "no-store");
  });

  const gatehousePath = (env: Env) => env.GATEHOUSE_PATH ?? "/_gatehouse";

  // Public.
  app.get("/", (c) => c.html(landingPage(gatehousePath(c.env))));
  app.get("/app.js", (c) => c.body(appJs(gatehousePath(c.env)), 200, { "content-type": "text/javascript; charset=utf-8" }));
  app.get("/app.css", (c) => c.body(APP_CSS, 200, { "content-type": "text/css; charset=utf-8" }));
  app.get("/logo.svg", (c) => c.body(LOGO_SVG, 200, { "content-type": "image/svg+xml" }));

  // Gatehouse's webhooks: public (a public path behind Gatehouse), authenticated by their signature alone.
  app.post("/webhooks/gatehouse", async (c) => {
    const secret = c.env.WEBHOOK_SECRET;
    if (!secret) return error(503, "WEBHOOKS_NOT_CONFIGURED", "This product has no webhook secret configured");
    if (Number(c.req.header("content-length") ?? 0) > MAX_WEBHOOK_BODY_BYTES) return error(400, "WEBHOOK_TOO_LARGE", "The body is larger than a Gatehouse event");
    const raw = await c.req.text();
    if (raw.length > MAX_WEBHOOK_BODY_BYTES) return error(400, "WEBHOOK_TOO_LARGE", "The body is larger than a Gatehouse event");
    const nowSeconds = Math.floor((options.now?.() ?? Date.now()) / 1000);
    const verified = await verifyWebhook(secret, c.req.raw.headers, raw, { nowSeconds });
    if (!verified.ok) return error(401, "WEBHOOK_REFUSED", "The webhook's signature or timestamp is not valid", { reason: verified.reason });
    inbox.add(verified.event);
    return c.body(null, 204);
  });

  // Protected.
  app.use("/app", requireIdentity);
  app.use("/api/*", requireIdentity);
  app.use("/whoami", requireIdentity);

  app.get("/app", (c) => c.html(appPage(c.get("claims"), gatehousePath(c.env), inbox.list(c.get("claims").tid))));

  app.get("/whoami", (c) => {
    const cookieNames = (c.req.header("cookie") ?? "")
      .split(";")
      .map((crumb) => crumb.split("=", 1)[0]?.trim() ?? "")
      .filter((name) => name !== "");
    return c.json({ token: c.get("token"), claims: c.get("claims"), cookieNames });
  });

  app.get("/api/notes", (c) => c.json({ notes: store.list(c.get("claims").tid) }));

  app.post("/api/notes", async (c) => {
    // A JSON content type cannot be sent cross-site without a CORS preflight (CSRF).
    if (!(c.req.header("content-type") ?? "").toLowerCase().startsWith("application/json")) {
      return error(415, "UNSUPPORTED_MEDIA_TYPE", "Send the note as application/json");
    }
    let json: unknown;
    try {
      json = await c.req.json();
    } catch {
      return error(400, "MALFORMED_JSON", "The body is not valid JSON");
    }
    const parsed = noteBody.safeParse(json);
    if (!parsed.success) {
      return error(400, "VALIDATION_FAILED", parsed.error.issues.map((i) => i.message).join("; "), { issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) });
    }
    const claims = c.get("claims");
    const note = store.add(claims.tid, { text: parsed.data.text, createdBy: claims.sub, actedBy: claims.act?.sub ?? null, createdAt: new Date(options.now?.() ?? Date.now()).toISOString() });
    if (!note) return error(409, "TOO_MANY_NOTES", "This tenant already has the most notes allowed");
    // Not kept unless Gatehouse's audit log has it.
    if (!(await recordNoteEvent(c.env.GATEHOUSE_RPC, claims, c.req.raw, { action: "app.note.created", outcome: "SUCCESS", noteId: note.id, after: { text: note.text } }))) {
      store.delete(claims.tid, note.id);
      return error(503, "AUDIT_UNAVAILABLE", "The note could not be recorded in the audit log, so it was not kept; try again");
    }
    return c.json({ note }, 201);
  });

  // Gatehouse asks for a fresh step-up (NOTE_DELETE) before this request reaches us: a
  // STEP_UP_ROUTES entry, claimed by the gateway (a Worker reached another way would call
  // env.GATEHOUSE_RPC.requireStepUp itself).
  app.delete("/api/notes/:id", async (c) => {
    const claims = c.get("claims");
    const note: Note | null = store.get(claims.tid, c.req.param("id"));
    if (!note) return error(404, "NOT_FOUND", "Note not found");
    if (note.createdBy !== claims.sub && !MODERATOR_ROLES.includes(claims.role)) {
      await recordNoteEvent(c.env.GATEHOUSE_RPC, claims, c.req.raw, { action: "app.note.deleted", outcome: "FAIL", noteId: note.id, failureReason: "FORBIDDEN" });
      return error(403, "FORBIDDEN", "Only the note's author or an admin may delete it");
    }
    // Recorded first: the deletion below cannot fail, and is not made if the record was not.
    if (!(await recordNoteEvent(c.env.GATEHOUSE_RPC, claims, c.req.raw, { action: "app.note.deleted", outcome: "SUCCESS", noteId: note.id, before: { text: note.text } }))) {
      return error(503, "AUDIT_UNAVAILABLE", "The deletion could not be recorded in the audit log, so the note was kept; try again");
    }
    store.delete(claims.tid, note.id);
    return c.json({ success: true });
  });

  app.notFound(() => error(404, "NOT_FOUND", "Not found"));
  app.onError(() => Response.json({ error: "INTERNAL_ERROR", message: "Something went wrong" }, { status: 500 }));
  return app;
}

export default createApp();
