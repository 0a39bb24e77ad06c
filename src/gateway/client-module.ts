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
 *   Concurrent requests for one purpose share the dialog, but a single-use grant covers
 *   one of them: a retry answered 428 again opens the dialog again (at most
 *   MAX_STEP_UPS times per request). Cancelled, the 428 response is returned as it came.
 * - 401 with a session-loss code: the browser goes to sign-in with `returnTo` = this page.
 * - `signOut()`: POSTs to `<GATEHOUSE_PATH>/sign-out` (src/auth/sign-out-page.ts; the API's
 *   CSRF rules; a GET of that address only shows the page with its button), which ends the
 *   session, then goes where the answer says (SIGN_OUT_PATH).
 *
 * It holds no secret and decides nothing: the step-up page reads the purpose's label and
 * methods from Gatehouse, the grant is checked and claimed by the gateway on the retry, and
 * a message from the frame counts only from this origin and that frame. Under a strict CSP
 * it needs `script-src 'self'` and `frame-src 'self'` (or `child-src`): no eval, no inline
 * script or style (styles are set through the CSSOM).
 *
 * Kept as text here (like the demo product's page script) so the worker serves it without a
 * build step; test/client-module.test.ts checks its exports, size and CSP-safety, and runs it
 * with a fake page. The session-loss codes and the message type are interpolated from their
 * one definition.
 */
import { SESSION_FAILURES } from "../sessions/middleware";
import { STEP_UP_MESSAGE_TYPE } from "./step-up-message";

export const CLIENT_MODULE = `// Gatehouse client module: fetch that handles step-up (428) and sign-in (401), and sign-out.
const BASE = new URL(".", import.meta.url).pathname.replace(/\\/$/, "");
const SESSION_LOSS = ${JSON.stringify(SESSION_FAILURES)};
const MESSAGE = ${JSON.stringify(STEP_UP_MESSAGE_TYPE)};
const MAX_STEP_UPS = 3;

const here = () => location.pathname + location.search;

/** The sign-in page, coming back to returnTo (this page by default). */
export function signInUrl(returnTo = here()) {
  return BASE + "/sign-in?returnTo=" + encodeURIComponent(returnTo);
}

/** The step-up page for a purpose; framed or opened by this page it reports back to it instead of navigating. */
export function stepUpUrl(purpose, returnTo = here()) {
  return BASE + "/step-up?purpose=" + encodeURIComponent(purpose) + "&returnTo=" + encodeURIComponent(returnTo);
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
    frame.src = stepUpUrl(purpose);
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

/** Signs this browser out (a POST to the sign-out page: a GET never signs out), then goes where Gatehouse says (SIGN_OUT_PATH). */
export async function signOut() {
  const response = await fetch(BASE + "/sign-out", { method: "POST", credentials: "same-origin", headers: { accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body && typeof body.message === "string" ? body.message : "Sign-out failed");
  location.assign(body && typeof body.redirectTo === "string" ? body.redirectTo : "/");
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
 * and, once verified, sends the request again (a grant another request took first means
 * another dialog, MAX_STEP_UPS at most); a 401 for a lost session goes to sign-in and back.
 * Every other response is returned untouched.
 */
export async function gatehouseFetch(input, init) {
  const request = new Request(input, init);
  let response = await fetch(request.clone());
  for (let round = 0; response.status === 428 && round < MAX_STEP_UPS; round++) {
    const body = await errorCode(response);
    if (!body || body.error !== "STEP_UP_REQUIRED" || typeof body.purpose !== "string" || !(await stepUp(body.purpose))) break;
    response = await fetch(request.clone());
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
