// A local stand-in for Have I Been Pwned's Pwned Passwords range API (GET /range/<5 hex>),
// which e2e/run.mjs starts and gives Gatehouse as PWNED_PASSWORDS_API: the browser scenarios
// never call out, and know which passwords it calls breached. It answers as the real one
// does: the suffixes under the prefix, `SUFFIX:COUNT` a line, padded with zero-count decoys.
import { createHash } from "node:crypto";
import { createServer } from "node:http";

/** Passwords this stand-in knows from a breach (long enough to pass every local rule). */
export const BREACHED_PASSWORDS = ["password1234567", "iloveyou1234567"];

const sha1 = (text) => createHash("sha1").update(text, "utf8").digest("hex").toUpperCase();

export function startPwnedFixture() {
  const known = BREACHED_PASSWORDS.map(sha1);
  const server = createServer((req, res) => {
    const prefix = /^\/range\/([0-9A-F]{5})$/i.exec(req.url ?? "")?.[1]?.toUpperCase();
    if (!prefix) {
      res.writeHead(404).end();
      return;
    }
    const lines = known.filter((h) => h.startsWith(prefix)).map((h) => `${h.slice(5)}:31337`);
    lines.push(`${"0".repeat(35)}:0`);
    res.writeHead(200, { "content-type": "text/plain" }).end(lines.join("\r\n"));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) }));
  });
}
