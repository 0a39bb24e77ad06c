/**
 * The demo's pages: server-rendered with hono/html (every interpolation is escaped), no
 * inline script or style, so the CSP below can forbid both.
 */
import { html } from "hono/html";
import type { AssertionClaims, WebhookEvent } from "../../../packages/product/src/index";

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

/** The product's mark, served at /logo.svg (a public path: Gatehouse's sign-in page shows it, PRODUCT_LOGO_URL). */
export const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#6d28d9"/><path d="M10 8h9l5 5v11a2 2 0 0 1-2 2H10a2 2 0 0 1-2-2V10a2 2 0 0 1 2-2z" fill="#fff"/><path d="M12 16h8M12 20h6" stroke="#6d28d9" stroke-width="2" stroke-linecap="round"/></svg>`;

function layout(title: string, header: ReturnType<typeof html> | string, body: ReturnType<typeof html>) {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title}</title>
    <link rel="stylesheet" href="/app.css" />
  </head>
  <body>
    <header class="bar">
      <a class="brand" href="/"><img src="/logo.svg" alt="" width="28" height="28" /> Acme Notes</a>
      ${header}
    </header>
    ${body}
  </body>
</html>`;
}

export function landingPage(gatehousePath: string) {
  return layout(
    "Acme Notes",
    html`<a class="button" href="${gatehousePath}/sign-in?returnTo=/app">Sign in</a>`,
    html`<main>
      <h1>Acme Notes</h1>
      <p>Notes for your team. Acme Notes is a small product behind Gatehouse: Gatehouse signs people in and checks every request; this app only reads who is asking.</p>
      <p><a class="button button-primary" href="${gatehousePath}/sign-in?returnTo=/app">Sign in</a> <a href="${gatehousePath}/">Security panel</a></p>
    </main>`,
  );
}

/** The last events Gatehouse sent about this tenant (src/webhooks.ts), newest first. */
function recentEvents(events: WebhookEvent[]) {
  return html`<section class="events" aria-labelledby="events-title">
    <h2 id="events-title">Recent events from Gatehouse</h2>
    ${events.length === 0
      ? html`<p class="muted">None yet: signing in, a role change or a sign-out shows up here.</p>`
      : html`<ul id="events">${events.map((e) => html`<li><code>${e.type}</code> <span class="muted">${e.timestamp} · #${String(e.data.seq ?? "")}</span></li>`)}</ul>`}
  </section>`;
}

export function appPage(claims: AssertionClaims, gatehousePath: string, events: WebhookEvent[] = []) {
  const banner = claims.act
    ? html`<p class="banner" role="alert">${claims.act.name} (${claims.act.email}) is acting as ${claims.name}.</p>`
    : "";
  return layout(
    "Acme Notes",
    html`<nav class="account" aria-label="Account">
      <span class="who"><strong>${claims.name}</strong> <span class="muted">${claims.email} · ${claims.role}</span></span>
      <a href="${gatehousePath}/">Security</a>
      <form method="post" action="${gatehousePath}/sign-out"><button class="button">Sign out</button></form>
    </nav>`,
    html`${banner}
    <main>
      <h1>Hello, ${claims.name}</h1>
      <form id="new-note" class="add"><label for="note-text" class="sr-only">New note</label><input id="note-text" name="text" maxlength="500" required placeholder="Write a note…" /> <button class="button button-primary">Add note</button></form>
      <p id="status" role="status"></p>
      <ul id="notes"></ul>
      <p id="empty" class="muted" hidden>No notes yet: write the first one above.</p>
      <p id="error" role="alert"></p>
      ${recentEvents(events)}
    </main>
    <script src="/app.js" type="module"></script>`,
  );
}

export const APP_CSS = `*{box-sizing:border-box}body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1f2328;background:#f7f7fb}
.bar{display:flex;flex-wrap:wrap;gap:.75rem 1.5rem;align-items:center;justify-content:space-between;padding:.75rem 1.25rem;background:#fff;border-bottom:1px solid #e4e4ee}
.brand{display:flex;gap:.5rem;align-items:center;font-weight:700;color:inherit;text-decoration:none}
.account{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}.account form{margin:0}.muted{color:#5b5b6b}
main{max-width:40rem;margin:2rem auto;padding:0 1.25rem}h1{font-size:1.6rem;margin:0 0 1rem}
a{color:#5b21b6}.button{font:inherit;padding:.4rem .9rem;border:1px solid #c9c9d9;border-radius:.4rem;background:#fff;color:inherit;cursor:pointer;text-decoration:none;display:inline-block}
.button-primary{background:#6d28d9;border-color:#6d28d9;color:#fff}
:focus-visible{outline:2px solid #6d28d9;outline-offset:2px}
.add{display:flex;gap:.5rem}.add input{flex:1;font:inherit;padding:.4rem .6rem;border:1px solid #c9c9d9;border-radius:.4rem}
#notes{list-style:none;padding:0;margin:1rem 0}#notes li{display:flex;justify-content:space-between;align-items:center;gap:1rem;background:#fff;border:1px solid #e4e4ee;border-radius:.5rem;padding:.6rem .9rem;margin-bottom:.5rem;overflow-wrap:anywhere}
#status{color:#116329;min-height:1.5em;margin:.5rem 0 0}#error{color:#b91c1c}
.events{margin-top:2rem}.events h2{font-size:1.1rem}#events{list-style:none;padding:0}#events li{padding:.25rem 0;border-bottom:1px solid #e4e4ee}
.banner{background:#fde68a;padding:.5rem 1.25rem;margin:0}.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}`;

// Renders with textContent only: note text never becomes markup. Every call goes through
// Gatehouse's client module: a 428 (deleting needs a fresh step-up) opens Gatehouse's dialog
// over this page and retries once verified; a lost session goes to sign-in and back.
export const appJs = (gatehousePath: string) => `import { gatehouseFetch } from ${JSON.stringify(`${gatehousePath}/client.js`)};
const list = document.getElementById("notes");
const status = document.getElementById("status");
const error = document.getElementById("error");
const form = document.getElementById("new-note");
async function call(path, init) {
  const res = await gatehouseFetch(path, { credentials: "same-origin", ...init });
  const body = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error(body && body.message ? body.message : "Request failed");
  return body;
}
function say(text) { status.textContent = text; error.textContent = ""; }
function show(e) { status.textContent = ""; error.textContent = e.message; }
async function load() {
  const { notes } = await call("/api/notes");
  document.getElementById("empty").hidden = notes.length > 0;
  list.replaceChildren(...notes.map((note) => {
    const li = document.createElement("li");
    const text = document.createElement("span");
    text.textContent = note.text;
    const del = document.createElement("button");
    del.className = "button";
    del.textContent = "Delete";
    del.setAttribute("aria-label", "Delete note: " + note.text);
    del.addEventListener("click", () => call("/api/notes/" + encodeURIComponent(note.id), { method: "DELETE" }).then(() => { say("Note deleted."); return load(); }, show));
    li.append(text, del);
    return li;
  }));
}
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = new FormData(form).get("text");
  call("/api/notes", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text }) })
    .then(() => { form.reset(); say("Note added."); return load(); }, show);
});
load().catch(show);
`;
