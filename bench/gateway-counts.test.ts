/**
 * The work of a hot product request through the gateway, counted and printed (never
 * asserted; the goals are judged in bench/results/latest.md): D1 statements and KV
 * operations of a signed-in member's GET /app, forwarded to a stand-in for the product's
 * service binding with a signed assertion. One `BENCH_RESULT {json}` line, which
 * bench/run.mjs reads.
 */
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { ASSERTION_HEADER } from "../src/gateway/assertion";
import { keySetText } from "../test/gateway-fixtures";
import { Harness, countingD1, seedTenant, withEnv } from "../test/helpers";
import { browserSignIn } from "../test/snapshot-fixtures";
import { countingKv, kvSummary, seedFiftyRules } from "./workerd-fixtures";

const report = (name: string, value: unknown) => console.log(`BENCH_RESULT ${JSON.stringify({ name, value })}`);

/** The product's service binding, answering every request with a page; records the assertions it was sent. */
function stubOrigin() {
  const assertions: (string | null)[] = [];
  const binding = {
    async fetch(input: RequestInfo | URL, init?: RequestInit) {
      assertions.push(new Request(input, init).headers.get(ASSERTION_HEADER));
      return new Response("<h1>Hello</h1>", { headers: { "content-type": "text/html; charset=utf-8" } });
    },
    connect() {
      throw new Error("not used");
    },
  } as unknown as Fetcher;
  return { binding, assertions };
}

it("counts the work of a hot product GET /app through the gateway (valid session, 50 IP rules)", async () => {
  const h = new Harness();
  const t = await seedTenant("bench-gw", { totp: false });
  await seedFiftyRules(t);
  // A browser: the session cookie and the session snapshot it is given at sign-in.
  const cookie = (await browserSignIn(h, t.member)).jar.header;
  const origin = stubOrigin();
  const gateway = { ORIGIN: origin.binding, ASSERTION_AUDIENCE: "acme-notes", PUBLIC_PATHS: '["/"]', ASSERTION_SIGNING_KEYS: await keySetText("k-bench") };
  // Warm: the first request may refill the tenant's edge document from D1, imports the
  // signing key and signs the session's first assertion.
  if ((await h.call("/app", { cookie, env: withEnv(gateway) })).status !== 200) throw new Error("warm-up GET /app failed");

  const count = async () => {
    const d1 = countingD1(env.DB);
    const kv = countingKv(env.SESSION_CACHE);
    const sent = origin.assertions.length;
    const res = await h.call("/app", { cookie, env: withEnv({ ...gateway, DB: d1.db, SESSION_CACHE: kv.kv }) });
    const forwarded = origin.assertions.slice(sent);
    if (res.status !== 200 || forwarded.length !== 1 || !forwarded[0]) throw new Error(`GET /app answered ${res.status}, ${forwarded.length} request(s) reached the product`);
    return { d1Queries: d1.count(), ...kvSummary(kv.ops), assertion: forwarded[0] };
  };
  // As for GET /api/me: right after the session's previous request, and 2 s later (past the
  // in-isolate copies of up to a second: one KV read, the tenant's edge document). Whether the assertion was reused or signed anew
  // (an ECDSA signature) is told by comparing it with the previous request's.
  const previous = origin.assertions.at(-1);
  const { assertion: a1, ...immediate } = await count();
  h.clock.advanceSeconds(2);
  const { assertion: a2, ...after2s } = await count();
  report("hotProduct", {
    path: "/app",
    immediate: { ...immediate, assertionReused: a1 === previous },
    after2s: { ...after2s, assertionReused: a2 === a1 },
  });
});
