import { describe, expect, it } from "vitest";
import { isBrowserNavigation, unauthenticatedResponse } from "../src/gateway/navigation";

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
