// The per-request cookie parse shared by the CSRF guard, the session, snapshot and device checks.
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { describe, expect, it } from "vitest";
import { hostCookie } from "../src/lib/cookies";

const app = new Hono().get("/", (c) =>
  c.json({ session: hostCookie(c, "gatehouse_session") ?? null, again: hostCookie(c, "gatehouse_session") ?? null, hono: getCookie(c, "gatehouse_session", "host") ?? null }),
);
const read = async (cookie: string | null) => {
  const res = await app.request("/", cookie === null ? {} : { headers: { cookie } });
  return (await res.json()) as { session: string | null; again: string | null; hono: string | null };
};

describe("the request's cookies, parsed once", () => {
  it("each request's cookies are read from its own Cookie header, never another request's", async () => {
    expect((await read("__Host-gatehouse_session=one")).session).toBe("one");
    expect((await read("__Host-gatehouse_session=two")).session).toBe("two");
    expect((await read(null)).session).toBeNull();
    expect((await read("other=x")).session).toBeNull();
  });

  it("a cookie is read as hono's getCookie reads it: first duplicate wins, prefix required, value decoded", async () => {
    for (const header of [
      "__Host-gatehouse_session=first; __Host-gatehouse_session=second",
      "gatehouse_session=unprefixed",
      "__host-gatehouse_session=lowercase-prefix; __Host-gatehouse_session=a%2Eb",
      " __Host-gatehouse_session = \"quoted\" ; theme=dark",
      "__Host-gatehouse_session=bad value",
    ]) {
      const seen = await read(header);
      expect(seen.session, header).toBe(seen.hono);
      expect(seen.again, header).toBe(seen.hono);
    }
  });
});
