// Routes that each do one known amount of I/O and nothing else (see wrangler.toml).
// The values have the shape and size of Gatehouse's KV entries: a session entry
// (~1 kB) and a compiled rule set of 50 rules (~3 kB).
const session = JSON.stringify({ session: { id: "s".repeat(15), tokenHash: "0".repeat(64), lastSeenAt: 0, expiresAt: 0 }, user: { id: "usr_x", email: "x@example.test", role: "owner", pad: "p".repeat(700) }, impersonatedUser: null });
const rules = JSON.stringify({ format: 1, count: 50, networks: Array.from({ length: 50 }, (_, i) => [`10.${i}.0.0/16`, [["deny", `ipr_${i}`, null]]]) });

const json = (body) => Response.json(body, { headers: { "cache-control": "no-store" } });

export default {
  async fetch(request, env) {
    switch (new URL(request.url).pathname) {
      case "/setup":
        await env.KV.put("session", session);
        await env.KV.put("rules", rules);
        await env.DB.exec("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, v TEXT)");
        await env.DB.prepare("INSERT OR REPLACE INTO t (id, v) VALUES ('a', ?)").bind(session).run();
        return json({ ok: true });
      case "/bare":
        return json({ ok: true });
      case "/kv1":
        return json({ ok: (await env.KV.get("session", "json")) !== null });
      case "/kv2":
        return json({ ok: (await env.KV.get("session", "json")) !== null && (await env.KV.get("rules", "json")) !== null });
      case "/d1":
        return json({ ok: (await env.DB.prepare("SELECT v FROM t WHERE id = ?").bind("a").first()) !== null });
      default:
        return new Response("not found", { status: 404 });
    }
  },
};
