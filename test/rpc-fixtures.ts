// Shared fixtures for the RPC entrypoint's tests: every call goes through env.GATEHOUSE,
// a real service binding to this Worker's GatehouseService (vitest.config.ts).
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { Harness, PASSWORD, type SeededUser } from "./helpers";
import { HOME } from "./ip-rules-fixtures";

/**
 * A harness whose clock starts at the real time: the entrypoint runs with the Worker's
 * own clock (Date.now), so sessions and grants must be made at the same time.
 */
export function realTimeHarness(): Harness {
  const h = new Harness();
  h.clock.ms = Date.now();
  return h;
}

/** The client address the product passes on: the harness's default, allowed by every rule set seeded here. */
export const CLIENT_IP = HOME;

export function authenticate(cookie: string, clientIp = CLIENT_IP) {
  return env.GATEHOUSE.authenticate({ headers: { cookie, "user-agent": "Mozilla/5.0 test" }, clientIp });
}

/**
 * Counts the D1 statements prepared while `run` runs, in this isolate (the Worker under
 * test shares it, so its queries through the binding count too).
 */
export async function countD1<T>(run: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const proto = Object.getPrototypeOf(env.DB) as { prepare: (...args: unknown[]) => unknown; exec: (...args: unknown[]) => unknown };
  const prepare = vi.spyOn(proto, "prepare");
  const exec = vi.spyOn(proto, "exec");
  try {
    const result = await run();
    return { result, statements: prepare.mock.calls.length + exec.mock.calls.length };
  } finally {
    prepare.mockRestore();
    exec.mockRestore();
  }
}

/** Earns a grant for any purpose, Gatehouse's or the product's, through the verify route. */
export async function verifyStepUp(h: Harness, cookie: string, purpose: string, user: SeededUser) {
  let factor: Record<string, string>;
  if (user.totpSecret) {
    h.clock.advanceSeconds(30);
    factor = { code: h.code(user) };
  } else factor = { password: PASSWORD };
  return h.call("/api/security/stepup/verify", { cookie, body: { purpose, ...factor } });
}
