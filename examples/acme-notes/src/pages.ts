/**
 * The demo's pages: server-rendered with hono/html (every interpolation is escaped), no
 * inline script or style, so the CSP below can forbid both.
 */
import { html } from "hono/html";
import type { AssertionClaims } from "../../../packages/product/src/index";

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  // Gatehouse's step-up dialog (client.js frames its same-origin step-up page).
  "frame-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

function layout(title: string, body: ReturnType<typeof html>) {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title}</title>
    <link rel="stylesheet" href="/app.css" />
  </head>
  <body>
    ${body}
  </body>
</html>`;
}

export function landingPage(gatehousePath: string) {
  return layout(
    "Acme Notes",
    html`<main>
      <h1>Acme Notes</h1>
      <p>Notes for your team, behind Gatehouse.</p>
      <p><a href="${gatehousePath}/sign-in?returnTo=/app">Sign in</a> · <a href="${gatehousePath}/">Security panel</a></p>
    </main>`,
  );
}

export function appPage(claims: AssertionClaims, gatehousePath: string) {
  const banner = claims.act
    ? html`<p class="banner" role="alert">${claims.act.name} (${claims.act.email}) is acting as ${claims.name}.</p>`
    : "";
  return layout(
    "Acme Notes",
    html`${banner}
    <main>
      <h1>Hello, ${claims.name}</h1>
      <p class="meta">${claims.email} · ${claims.role} · tenant ${claims.tid} · <a href="${gatehousePath}/">Security panel</a></p>
      <form method="post" action="${gatehousePath}/sign-out"><button>Sign out</button></form>
      <form id="new-note"><input name="text" maxlength="500" required aria-label="New note" /> <button>Add</button></form>
      <ul id="notes"></ul>
      <p id="error" role="alert"></p>
    </main>
    <script src="/app.js" type="module"></script>`,
  );
}

export const APP_CSS = `body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
.banner{background:#fde68a;padding:.5rem 1rem;border-radius:.25rem}.meta{color:#555}
#notes li{display:flex;justify-content:space-between;gap:1rem}#error{color:#b91c1c}`;

// Renders with textContent only: note text never becomes markup. Every call goes through
// Gatehouse's client module: a 428 (deleting needs a fresh step-up) opens Gatehouse's dialog
// over this page and retries once verified; a lost session goes to sign-in and back.
export const appJs = (gatehousePath: string) => `import { gatehouseFetch } from ${JSON.stringify(`${gatehousePath}/client.js`)};
const list = document.getElementById("notes");
const error = document.getElementById("error");
const form = document.getElementById("new-note");
async function call(path, init) {
  const res = await gatehouseFetch(path, { credentials: "same-origin", ...init });
  const body = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error(body && body.message ? body.message : "Request failed");
  return body;
}
async function load() {
  const { notes } = await call("/api/notes");
  list.replaceChildren(...notes.map((note) => {
    const li = document.createElement("li");
    const text = document.createElement("span");
    text.textContent = note.text;
    const del = document.createElement("button");
    del.textContent = "Delete";
    del.setAttribute("aria-label", "Delete note: " + note.text);
    del.addEventListener("click", () => call("/api/notes/" + encodeURIComponent(note.id), { method: "DELETE" }).then(() => { error.textContent = ""; return load(); }, show));
    li.append(text, del);
    return li;
  }));
}
function show(e) { error.textContent = e.message; }
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = new FormData(form).get("text");
  call("/api/notes", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text }) })
    .then(() => { form.reset(); error.textContent = ""; return load(); }, show);
});
load().catch(show);
`;
