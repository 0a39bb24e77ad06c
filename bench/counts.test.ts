/**
 * The bench's in-workerd figures, printed (never asserted: they are measurements, and
 * the goals are judged in bench/results/latest.md):
 *   - work per hot GET /api/me, counted: D1 statements and KV operations, with the keys;
 *   - sign-in cost: one PBKDF2 verification and one TOTP verification, in milliseconds;
 *   - one passkey assertion's verification (signature and checks), in milliseconds.
 * Each figure is one `BENCH_RESULT {json}` line on stdout, which bench/run.mjs reads.
 */
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { hashPassword, verifyPassword } from "../src/lib/password";
import { generateAuthenticationOptions, generateRegistrationOptions } from "@simplewebauthn/server";
import { checkAssertion, checkRegistration, challengeOf } from "../src/passkeys/ceremony";
import { generateTotpSecret, matchTotpStep, totpCodeAt } from "../src/stepup/totp";
import { SoftAuthenticator } from "../test/webauthn/soft-authenticator";
import { Harness, countingD1, seedTenant, withEnv } from "../test/helpers";
import { browserSignIn } from "../test/snapshot-fixtures";
import { countingKv, kvSummary, seedFiftyRules } from "./workerd-fixtures";

const quick = (env as unknown as { BENCH_QUICK?: string }).BENCH_QUICK === "1";
const report = (name: string, value: unknown) => console.log(`BENCH_RESULT ${JSON.stringify({ name, value })}`);

it("counts the work of a hot GET /api/me (valid session, 50 IP rules)", async () => {
  const h = new Harness();
  const t = await seedTenant("bench", { totp: false });
  await seedFiftyRules(t);
  // A browser: the session cookie and the session snapshot it is given at sign-in.
  const cookie = (await browserSignIn(h, t.member)).jar.header;
  // Warm: the first request may refill the tenant's edge document (rules, policy, session state) from D1.
  if ((await h.call("/api/me", { cookie })).status !== 200) throw new Error("warm-up /api/me failed");

  const count = async () => {
    const d1 = countingD1(env.DB);
    const kv = countingKv(env.SESSION_CACHE);
    const res = await h.call("/api/me", { cookie, env: withEnv({ DB: d1.db, SESSION_CACHE: kv.kv }) });
    if (res.status !== 200) throw new Error(`/api/me answered ${res.status}`);
    return { d1Queries: d1.count(), ...kvSummary(kv.ops) };
  };
  // Right after another request of the same session, and 2 s later (past any in-isolate
  // cache of up to a second, well before the 120 s last_seen refresh): both are hot. The
  // goal: no read at all in the first, one KV read (the tenant's edge document) in the second.
  const immediate = await count();
  h.clock.advanceSeconds(2);
  const after2s = await count();
  report("hotMe", { immediate, after2s });
});

/**
 * workerd only advances its clock at I/O boundaries (a Spectre mitigation), so a
 * synchronous loop reads as 0 ms. Each measurement therefore sits between two timer
 * turns, and the same two turns with no work in between are subtracted.
 */
const tick = () => new Promise((r) => setTimeout(r, 0));
async function span(runs: number, work: () => unknown): Promise<number> {
  await tick();
  const start = Date.now();
  for (let i = 0; i < runs; i++) await work();
  await tick();
  return Date.now() - start;
}

/** Milliseconds per run over `runs` runs in one span (for work far below the clock's 1 ms step). */
async function msPerRun(runs: number, work: () => unknown): Promise<number> {
  await span(Math.min(100, runs), work); // warm up
  const overhead = await span(0, work);
  return Math.max(0, (await span(runs, work)) - overhead) / runs;
}

/**
 * One span per run (for work of several ms): the mean, as asked, and the least disturbed
 * run, since on a shared machine a run's wall time also holds time spent waiting for a core.
 */
async function eachRun(runs: number, work: () => unknown): Promise<{ mean: number; min: number }> {
  await span(1, work); // warm up
  const overhead = await span(0, work);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(Math.max(0, (await span(1, work)) - overhead));
  return { mean: samples.reduce((a, b) => a + b, 0) / runs, min: Math.min(...samples) };
}

it("times one password and one TOTP verification inside workerd", async () => {
  const stored = await hashPassword("correct horse battery staple");
  const pbkdf2Runs = quick ? 5 : 20;
  const password = await eachRun(pbkdf2Runs, async () => {
    if (!(await verifyPassword("correct horse battery staple", stored))) throw new Error("verifyPassword refused the right password");
  });

  const secret = generateTotpSecret();
  const now = Date.UTC(2026, 10, 30, 12, 0, 0);
  const code = totpCodeAt(secret, now);
  // The worst case: a wrong code is compared at all three steps of the drift window.
  const wrong = code === "000000" ? "000001" : "000000";
  const totpRuns = quick ? 500 : 5000;
  const totpOkMs = await msPerRun(totpRuns, () => matchTotpStep(secret, code, now));
  const totpWrongMs = await msPerRun(totpRuns, () => matchTotpStep(secret, wrong, now));
  report("signIn", { passwordMs: password.mean, passwordMinMs: password.min, pbkdf2Runs, totpOkMs, totpWrongMs, totpRuns });
});

it("times one passkey assertion's verification inside workerd (ES256, as sign-in and step-up check it)", async () => {
  const rp = { id: "gatehouse.test", name: "gatehouse.test", origin: "https://gatehouse.test" };
  // Counter mode "zero" (as synced passkeys send): the same answer verifies on every run.
  const auth = new SoftAuthenticator({ origin: rp.origin, counterMode: "zero" });
  const creation = await generateRegistrationOptions({ rpName: rp.name, rpID: rp.id, userName: "bench@example.test", authenticatorSelection: { residentKey: "required", userVerification: "required" } });
  const clientData = (response: { response: { clientDataJSON: string } }) => {
    const data = challengeOf(response.response.clientDataJSON);
    if (!data) throw new Error("unreadable clientDataJSON");
    return data;
  };
  const registration = await auth.register(creation);
  const added = await checkRegistration(registration, clientData(registration), rp);
  if (!added.ok) throw new Error(`registration refused: ${added.refusal}`);
  const request = await generateAuthenticationOptions({ rpID: rp.id, userVerification: "required" });
  const assertion = await auth.authenticate(request);
  const stored = { ...added.credential, transports: added.credential.transports };
  const runs = quick ? 50 : 300;
  const passkeyMs = await msPerRun(runs, async () => {
    const checked = await checkAssertion(assertion, clientData(assertion), stored, rp);
    if (!checked.ok) throw new Error(`assertion refused: ${checked.refusal}`);
  });
  report("passkey", { verifyMs: passkeyMs, runs });
});
