/**
 * `<GATEHOUSE_PATH>/client.js`: the small ES module product pages import to meet
 * Gatehouse's answers in the browser (no dependencies, no build step):
 *
 *   import { gatehouseFetch } from "/_gatehouse/client.js";
 *   const res = await gatehouseFetch("/api/notes/42", { method: "DELETE" });
 *
 * - 428 STEP_UP_REQUIRED (a STEP_UP_ROUTES route): opens Gatehouse's step-up page as a
 *   dialog over the product page (a same-origin frame; the page alone may be framed, by
 *   this origin only), and once the user has verified, sends the request once more.
 *   Cancelled, the 428 response is returned as it came.
 * - 401 with a session-loss code: the browser goes to sign-in with `returnTo` = this page.
 *
 * It holds no secret and decides nothing: the step-up page reads the purpose's label and
 * methods from Gatehouse, the grant is checked and claimed by the gateway on the retry, and
 * a message from the frame counts only from this origin and that frame. Under a strict CSP
 * it needs `script-src 'self'` and `frame-src 'self'` (or `child-src`): no eval, no inline
 * script or style (styles are set through the CSSOM).
 *
 * Kept as text here (like the demo product's page script) so the worker serves it without a
 * build step; test/client-module.test.ts checks its exports, size and CSP-safety.
 */
export const CLIENT_MODULE = `// Gatehouse client module: fetch that handles step-up (428) and sign-in (401).
const BASE = new URL(".", import.meta.url).pathname.replace(/\\/$/, "");
const SESSION_LOSS = ["UNAUTHORIZED", "SESSION_REVOKED", "SESSION_INVALIDATED"];
const MESSAGE = "gatehouse:step-up";

const here = () => location.pathname + location.search;

/** The sign-in page, coming back to returnTo (this page by default). */
export function signInUrl(returnTo = here()) {
  return BASE + "/sign-in?returnTo=" + encodeURIComponent(returnTo);
}

/** The step-up page for a purpose; as a dialog (embed) it reports back instead of navigating. */
export function stepUpUrl(purpose, returnTo = here(), embed = false) {
  return BASE + "/step-up?purpose=" + encodeURIComponent(purpose) + "&returnTo=" + encodeURIComponent(returnTo) + (embed ? "&embed=1" : "");
}

let open = null;

/** Shows Gatehouse's step-up dialog for purpose; resolves true once verified, false if cancelled. */
export function stepUp(purpose) {
  // Concurrent requests for one purpose share one dialog; another purpose waits its turn.
  if (open && open.purpose === purpose) return open.done;
  const before = open ? open.done : Promise.resolve(false);
  const done = before.then(() => showDialog(purpose)).finally(() => {
    if (open && open.done === done) open = null;
  });
  open = { purpose, done };
  return done;
}

function showDialog(purpose) {
  return new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    Object.assign(dialog.style, { padding: "0", margin: "0", border: "0", width: "100vw", height: "100vh", maxWidth: "100vw", maxHeight: "100vh", background: "transparent" });
    const frame = document.createElement("iframe");
    frame.title = "Confirm it's you";
    frame.src = stepUpUrl(purpose, here(), true);
    Object.assign(frame.style, { border: "0", width: "100%", height: "100%", display: "block", background: "transparent", colorScheme: "normal" });
    dialog.append(frame);
    const finish = (verified) => {
      removeEventListener("message", onMessage);
      if (dialog.open) dialog.close();
      dialog.remove();
      resolve(verified);
    };
    function onMessage(event) {
      // Only Gatehouse's page in this very frame, on this origin, may answer.
      if (event.origin !== location.origin || event.source !== frame.contentWindow) return;
      const data = event.data;
      if (!data || data.type !== MESSAGE || data.purpose !== purpose) return;
      if (data.enroll === true) location.assign(BASE + "/security/two-factor");
      finish(data.verified === true);
    }
    addEventListener("message", onMessage);
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    frame.focus();
  });
}

async function errorCode(response) {
  try {
    const body = await response.clone().json();
    return body && typeof body.error === "string" ? body : null;
  } catch {
    return null;
  }
}

/**
 * fetch, plus Gatehouse's two answers: a 428 STEP_UP_REQUIRED opens the step-up dialog
 * and, once verified, sends the request again (once); a 401 for a lost session goes to
 * sign-in and back. Every other response is returned untouched.
 */
export async function gatehouseFetch(input, init) {
  const request = new Request(input, init);
  const again = request.clone();
  let response = await fetch(request);
  if (response.status === 428) {
    const body = await errorCode(response);
    if (body && body.error === "STEP_UP_REQUIRED" && typeof body.purpose === "string" && (await stepUp(body.purpose))) {
      response = await fetch(again);
    }
  }
  if (response.status === 401) {
    const body = await errorCode(response);
    if (body && SESSION_LOSS.includes(body.error)) location.assign(signInUrl());
  }
  return response;
}
`;

export const CLIENT_MODULE_HEADERS: Record<string, string> = {
  "Content-Type": "text/javascript; charset=utf-8",
  "X-Content-Type-Options": "nosniff",
  // Short: a deploy that changes it reaches product pages within minutes.
  "Cache-Control": "public, max-age=300",
  // Served same-origin to product pages; nothing else needs to read it.
  "Cross-Origin-Resource-Policy": "same-origin",
};
