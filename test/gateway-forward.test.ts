import { describe, expect, it } from "vitest";
import { ASSERTION_HEADER } from "../src/gateway/assertion";
import { DEVICE_COOKIE, type ForwardedFacts, clientResponse, originRequest } from "../src/gateway/forward";

const SESSION = "__Host-gatehouse_session";
const PROTECTED = [SESSION, DEVICE_COOKIE];

function incoming(init: { method?: string; headers?: Record<string, string>; body?: BodyInit | null; path?: string } = {}) {
  return new Request(`https://app.test${init.path ?? "/app/notes?sort=asc&x=%2F"}`, { method: init.method ?? "GET", headers: init.headers, body: init.body ?? null });
}

const FACTS: ForwardedFacts = { clientIp: "203.0.113.7", publicOrigin: "https://app.example.com" };

function forward(request: Request, assertion: string | null = "signed.jwt.value", originUrl?: string, forwarded = FACTS) {
  return originRequest(request, { assertion, sessionCookieName: SESSION, forwarded, ...(originUrl ? { originUrl } : {}) });
}

function streamOf(): { stream: ReadableStream<Uint8Array>; push: (text: string) => void; close: () => void } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  return { stream, push: (text) => controller.enqueue(new TextEncoder().encode(text)), close: () => controller.close() };
}

describe("the request to the origin", () => {
  it("a client-sent assertion header never reaches the origin", () => {
    const forged = { [ASSERTION_HEADER]: "forged", "gatehouse-jwt-assertion": "forged2", "Gatehouse-Tenant": "globex" };
    const anonymous = forward(incoming({ headers: forged }), null);
    expect(anonymous.headers.get(ASSERTION_HEADER)).toBeNull();
    expect(anonymous.headers.get("gatehouse-tenant")).toBeNull();
    const signed = forward(incoming({ headers: forged }), "signed.jwt.value");
    expect(signed.headers.get(ASSERTION_HEADER)).toBe("signed.jwt.value");
  });

  it("a client-sent assertion under underscores (Gatehouse_Jwt_Assertion, read alike by CGI-style origins) never reaches the origin", () => {
    const sent = forward(incoming({ headers: { Gatehouse_Jwt_Assertion: "leaked.old.token", gatehouse_tenant: "globex" } }), null);
    expect([...sent.headers.keys()].filter((name) => name.replaceAll("_", "-").startsWith("gatehouse-"))).toEqual([]);
  });

  it("a method-override header (any spelling the frameworks read) never reaches the origin: it runs the method the step-up check saw", () => {
    const headers = { "X-HTTP-Method-Override": "DELETE", "x-http-method": "DELETE", "X-Method-Override": "DELETE", "x_http_method_override": "DELETE" };
    const sent = forward(incoming({ method: "POST", headers, body: "{}" }));
    for (const name of Object.keys(headers)) expect(sent.headers.get(name), name).toBeNull();
    expect(sent.method).toBe("POST");
  });

  it("Gatehouse's session and device cookies are never forwarded, in any case or prefix variant", () => {
    const cookie = `${SESSION}=abc.secret; __host-GATEHOUSE_SESSION=x; gatehouse_session=y; __Secure-gatehouse_session=z; ${DEVICE_COOKIE}=dev`;
    expect(forward(incoming({ headers: { cookie } })).headers.get("cookie")).toBeNull();
  });

  it("a session cookie hidden behind a comma-joined Cookie header is not forwarded", () => {
    const cookie = `theme=dark, ${SESSION}=abc.secret; lang=en`;
    const sent = forward(incoming({ headers: { cookie } })).headers.get("cookie") ?? "";
    expect(sent).not.toContain("abc.secret");
    expect(sent).toBe("theme=dark; lang=en");
  });

  it("the product's own cookies reach the origin unchanged", () => {
    const cookie = `theme=dark; ${SESSION}=abc.secret; cart=a=b==; pref="quoted value"`;
    expect(forward(incoming({ headers: { cookie } })).headers.get("cookie")).toBe('theme=dark; cart=a=b==; pref="quoted value"');
  });

  it("method, path, query and the client IP reach the origin; originUrl replaces only scheme and host", () => {
    const request = incoming({ method: "DELETE", headers: { "CF-Connecting-IP": "203.0.113.7", "x-product": "1", host: "app.test" } });
    const same = forward(request);
    expect(same.method).toBe("DELETE");
    expect(same.url).toBe("https://app.test/app/notes?sort=asc&x=%2F");
    expect(same.headers.get("cf-connecting-ip")).toBe("203.0.113.7");
    expect(same.headers.get("x-product")).toBe("1");
    expect(same.redirect).toBe("manual");
    const toOrigin = forward(request, null, "http://origin.internal:8788/ignored");
    expect(toOrigin.url).toBe("http://origin.internal:8788/app/notes?sort=asc&x=%2F");
    expect(toOrigin.headers.get("host")).toBeNull(); // the runtime takes the host from the URL
  });

  it("the origin learns the client's address and the public host and scheme from Gatehouse, never from the client's proxy headers", () => {
    const spoofed = {
      "X-Forwarded-For": "10.0.0.1",
      "x-real-ip": "10.0.0.2",
      "X-Forwarded-Host": "evil.test",
      "X-Forwarded-Proto": "http",
      "X-Forwarded-Port": "1",
      Forwarded: "for=10.0.0.3;host=evil.test",
      X_Forwarded_Host: "evil2.test",
    };
    const sent = forward(incoming({ headers: spoofed }));
    expect(sent.headers.get("x-forwarded-for")).toBe("203.0.113.7");
    expect(sent.headers.get("x-real-ip")).toBe("203.0.113.7");
    expect(sent.headers.get("x-forwarded-host")).toBe("app.example.com");
    expect(sent.headers.get("x-forwarded-proto")).toBe("https");
    expect(sent.headers.get("x-forwarded-port")).toBeNull();
    expect(sent.headers.get("forwarded")).toBeNull();
    expect([...sent.headers.keys()].filter((name) => name.includes("_"))).toEqual([]);
  });

  it("without a CF-Connecting-IP the origin gets no client address at all, not the client's claim", () => {
    const sent = forward(incoming({ headers: { "X-Forwarded-For": "10.0.0.1", "X-Real-IP": "10.0.0.2" } }), null, undefined, { clientIp: null, publicOrigin: "http://localhost:8787" });
    expect(sent.headers.get("x-forwarded-for")).toBeNull();
    expect(sent.headers.get("x-real-ip")).toBeNull();
    expect(sent.headers.get("x-forwarded-host")).toBe("localhost:8787");
    expect(sent.headers.get("x-forwarded-proto")).toBe("http");
  });

  it("the request body is streamed to the origin, not buffered", async () => {
    const { stream, push, close } = streamOf();
    const sent = forward(incoming({ method: "POST", body: stream }));
    // originRequest returned before the body was complete: nothing was buffered.
    push("hello ");
    push("origin");
    close();
    expect(await sent.text()).toBe("hello origin");
  });
});

describe("the response to the client", () => {
  it("an origin cannot set or clear a protected cookie, whatever the case or prefix", () => {
    const headers = new Headers();
    for (const line of [
      `${SESSION}=stolen; Path=/; Secure; HttpOnly`,
      "__HOST-Gatehouse_Session=x; Path=/; Secure",
      "gatehouse_session=x",
      "__Secure-gatehouse_session=x; Secure",
      ` ${SESSION}=; Max-Age=0`,
      `${DEVICE_COOKIE}=x; Path=/; Secure`,
      "theme=dark; Path=/",
      "cart=1; Path=/; HttpOnly",
    ]) headers.append("set-cookie", line);
    const out = clientResponse(new Response("ok", { status: 201, headers }), { protectedCookieNames: PROTECTED });
    expect(out.headers.getSetCookie()).toEqual(["theme=dark; Path=/", "cart=1; Path=/; HttpOnly"]);
    expect(out.status).toBe(201);
  });

  it("a nameless Set-Cookie whose value names a protected cookie is dropped (some browsers read it as that cookie)", () => {
    const headers = new Headers();
    headers.append("set-cookie", "=__Host-gatehouse_session=attacker; Path=/; Secure");
    headers.append("set-cookie", "__Host-gatehouse_device; Path=/; Secure");
    headers.append("set-cookie", "=plain-nameless; Path=/");
    const res = clientResponse(new Response("x", { headers }), { protectedCookieNames: PROTECTED });
    expect(res.headers.getSetCookie()).toEqual(["=plain-nameless; Path=/"]);
  });

  it("Clear-Site-Data from the origin cannot clear Gatehouse's cookies; its other directives pass", () => {
    const all = clientResponse(new Response("x", { headers: { "clear-site-data": '"*"' } }), { protectedCookieNames: PROTECTED });
    expect(all.headers.get("clear-site-data")).toBeNull();
    const some = clientResponse(new Response("x", { headers: { "clear-site-data": '"cache", "Cookies", "storage"' } }), { protectedCookieNames: PROTECTED });
    expect(some.headers.get("clear-site-data")).toBe('"cache", "storage"');
  });

  it("the origin's response is streamed back with its status and headers", async () => {
    const { stream, push, close } = streamOf();
    const headers = new Headers({ "content-type": "text/plain", "x-origin": "1" });
    headers.append("set-cookie", `${SESSION}=x`);
    const out = clientResponse(new Response(stream, { status: 202, statusText: "Accepted", headers }), { protectedCookieNames: PROTECTED });
    push("streamed ");
    push("back");
    close();
    expect(out.status).toBe(202);
    expect(out.statusText).toBe("Accepted");
    expect(out.headers.get("x-origin")).toBe("1");
    expect(await out.text()).toBe("streamed back");
  });

  it("a response that sets no protected cookie is passed through as is", () => {
    const original = new Response("ok", { headers: { "set-cookie": "theme=dark" } });
    expect(clientResponse(original, { protectedCookieNames: PROTECTED })).toBe(original);
  });

  it("a WebSocket upgrade keeps its socket and still cannot set a protected cookie", () => {
    const [client] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    const plain = new Response(null, { status: 101, webSocket: client });
    expect(clientResponse(plain, { protectedCookieNames: PROTECTED })).toBe(plain);
    const headers = new Headers();
    headers.append("set-cookie", `${SESSION}=x`);
    headers.append("set-cookie", "theme=dark");
    const out = clientResponse(new Response(null, { status: 101, webSocket: client, headers }), { protectedCookieNames: PROTECTED });
    expect(out.status).toBe(101);
    expect(out.webSocket).toBe(client);
    expect(out.headers.getSetCookie()).toEqual(["theme=dark"]);
  });
});
