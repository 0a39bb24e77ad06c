import { describe, expect, it } from "vitest";
import { browserRequestKind, isBrowserNavigation, stepUpRedirect, unauthenticatedResponse } from "../src/gateway/navigation";

const HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

function req(method: string, headers: Record<string, string>, path = "/app?tab=2") {
  return new Request(`https://app.test${path}`, { method, headers });
}

describe("browser navigation or API call", () => {
  it("a page load (GET or HEAD accepting HTML) is a navigation", () => {
    expect(isBrowserNavigation(req("GET", { accept: HTML }))).toBe(true);
    expect(isBrowserNavigation(req("HEAD", { accept: HTML }))).toBe(true);
    expect(isBrowserNavigation(req("GET", { accept: HTML, "sec-fetch-mode": "navigate" }))).toBe(true);
  });

  it("a fetch/XHR is not a navigation even when it accepts HTML", () => {
    expect(isBrowserNavigation(req("GET", { accept: HTML, "sec-fetch-mode": "cors" }))).toBe(false);
    expect(isBrowserNavigation(req("GET", { accept: HTML, "sec-fetch-mode": "same-origin" }))).toBe(false);
  });

  it("a state-changing method or a non-HTML client is never a navigation", () => {
    expect(isBrowserNavigation(req("POST", { accept: HTML, "sec-fetch-mode": "navigate" }))).toBe(false);
    expect(isBrowserNavigation(req("GET", { accept: "application/json" }))).toBe(false);
    expect(isBrowserNavigation(req("GET", {}))).toBe(false);
  });

  it("a browser navigation is sent to sign-in with where it wanted to go", () => {
    const res = unauthenticatedResponse(req("GET", { accept: HTML }), { gatehousePath: "/_gatehouse" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/_gatehouse/sign-in?returnTo=%2Fapp%3Ftab%3D2");
  });

  it("the sign-in redirect never carries an off-site returnTo", () => {
    const res = unauthenticatedResponse(req("GET", { accept: HTML }, "/%2F%2Fevil.test"), { gatehousePath: "/_gatehouse" });
    expect(res.headers.get("location")).toBe("/_gatehouse/sign-in?returnTo=%2F");
  });

  it("an API call gets 401 JSON, not a redirect", async () => {
    const res = unauthenticatedResponse(req("GET", { accept: "application/json" }), { gatehousePath: "/_gatehouse" });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "UNAUTHORIZED", message: "Sign in to continue" });
  });
});

const FORM = { accept: HTML, "content-type": "application/x-www-form-urlencoded", "sec-fetch-mode": "navigate", referer: "https://app.test/notes/7/edit?tab=2" };

describe("a plain HTML form's submission", () => {
  it("a POST of a form body accepting HTML is a form submission, with or without fetch metadata, in each enctype", () => {
    expect(browserRequestKind(req("POST", FORM))).toBe("form");
    expect(browserRequestKind(req("POST", { accept: HTML, "content-type": "multipart/form-data; boundary=x" }))).toBe("form");
    expect(browserRequestKind(req("POST", { accept: HTML, "content-type": "text/plain" }))).toBe("form");
  });

  it("a fetch/XHR posting a form body is never a form submission: it keeps the JSON answers", () => {
    expect(browserRequestKind(req("POST", { ...FORM, "sec-fetch-mode": "cors" }))).toBe("other");
    expect(browserRequestKind(req("POST", { ...FORM, "sec-fetch-mode": "same-origin" }))).toBe("other");
    expect(browserRequestKind(req("POST", { ...FORM, accept: "application/json" }))).toBe("other");
    expect(browserRequestKind(req("POST", { ...FORM, "content-type": "application/json" }))).toBe("other");
    expect(browserRequestKind(req("DELETE", FORM))).toBe("other");
  });

  it("a form refused for sign-in gets a 303 to sign-in, back to the page it was on and told its action was not done", () => {
    const res = unauthenticatedResponse(req("POST", FORM, "/notes/7"), { gatehousePath: "/_gatehouse" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/_gatehouse/sign-in?returnTo=${encodeURIComponent("/notes/7/edit?tab=2")}&notDone=1`);
  });

  it("a form refused for step-up gets a 303 to the step-up page, back to the page it was on and told its action was not done", () => {
    const res = stepUpRedirect(req("POST", FORM, "/notes/7"), { gatehousePath: "/_gatehouse", purpose: "NOTE_DELETE" });
    expect(res?.status).toBe(303);
    expect(res?.headers.get("location")).toBe(`/_gatehouse/step-up?purpose=NOTE_DELETE&returnTo=${encodeURIComponent("/notes/7/edit?tab=2")}&notDone=1`);
  });

  it("a form's returnTo is only a same-origin Referer's sanitised path: another site's page, a missing or an odd Referer is /", () => {
    const to = (referer: string | null) => {
      const headers: Record<string, string> = { ...FORM };
      if (referer === null) delete headers.referer;
      else headers.referer = referer;
      return new URL(unauthenticatedResponse(req("POST", headers), { gatehousePath: "/_gatehouse" }).headers.get("location") ?? "", "https://app.test").searchParams.get("returnTo");
    };
    expect(to("https://evil.test/notes")).toBe("/");
    expect(to("http://app.test/notes")).toBe("/");
    expect(to(null)).toBe("/");
    expect(to("not a url")).toBe("/");
    expect(to("https://app.test//evil.test/x")).toBe("/");
    expect(to("https://app.test/notes?x=1#frag")).toBe("/notes?x=1");
  });
});
