// Vitest globalSetup of the workerd tests (vitest.config.ts): a product origin that is not a
// Worker (test/plain-origin.mjs, a plain Node HTTP server) for test/plain-origin.test.ts,
// which reads `inject("plainOrigin")` (typed in test/env.d.ts).
//
// The tests' Gatehouse is served in-process inside workerd, with no port the origin could
// call. So the origin's calls to Gatehouse (its JWKS, the product HTTP API) go to a relay
// started here, which holds each one until the test collects it (`GET /_relay/next`, a long
// poll), runs it against its Gatehouse and posts the answer back (`POST /_relay/answer/<id>`).
// The test also sets the clock the origin's verifier reads (`POST /_relay/clock`): the
// tests' Gatehouse signs at its injected clock, never the wall clock.
//
// The stdlib-only Python origin of the docs (examples/python-origin/origin.py) runs beside it,
// its calls going through the same relay; it reads the wall clock, as a real origin does.
// Without python3 on the machine, `pythonOriginUrl` is null and its tests say they were skipped.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { startPlainOrigin } from "./plain-origin.mjs";

const read = async (req) => {
  let body = "";
  for await (const chunk of req) body += chunk;
  return body;
};

function startRelay() {
  const parked = [];
  const waiters = [];
  const pending = new Map();
  let nextId = 0;
  let nowMs = 0;

  const handOver = () => {
    while (parked.length > 0 && waiters.length > 0) waiters.shift()(parked.shift());
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://relay");
    if (url.pathname === "/_relay/clock") {
      nowMs = Number(JSON.parse(await read(req)).nowMs);
      return res.writeHead(204).end();
    }
    if (url.pathname === "/_relay/next") {
      const waiter = (call) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(call));
      waiters.push(waiter);
      // The test stops collecting (aborts) once its request is answered.
      res.on("close", () => {
        const at = waiters.indexOf(waiter);
        if (at >= 0) waiters.splice(at, 1);
      });
      return handOver();
    }
    const answered = /^\/_relay\/answer\/(\d+)$/.exec(url.pathname);
    if (answered) {
      const { status, contentType, body } = JSON.parse(await read(req));
      pending.get(answered[1])?.writeHead(status, contentType ? { "content-type": contentType } : {}).end(body);
      pending.delete(answered[1]);
      return res.writeHead(204).end();
    }
    // A call of the origin's to Gatehouse: held until the test answers it.
    const id = String(++nextId);
    pending.set(id, res);
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([, value]) => typeof value === "string"));
    parked.push({ id, method: req.method, path: `${url.pathname}${url.search}`, headers, body: await read(req) });
    handOver();
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}`, now: () => nowMs, close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }) });
    });
  });
}

/** examples/python-origin/origin.py on a free port; null when python3 cannot be run. */
function startPythonOrigin(settings) {
  const script = new URL("../examples/python-origin/origin.py", import.meta.url).pathname;
  const env = { ...process.env, PORT: "0", GATEHOUSE_URL: settings.gatehouseUrl, ASSERTION_AUDIENCE: settings.audience, ASSERTION_ISSUER: settings.issuer, PRODUCT_API_TOKEN: settings.token };
  const child = spawn("python3", ["-u", script], { env, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve) => {
    child.on("error", () => resolve(null));
    child.on("exit", () => resolve(null));
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const listening = /listening on (http:\/\/\S+)/.exec(out);
      if (listening) resolve({ url: listening[1].replace("localhost", "127.0.0.1"), close: () => child.kill() });
    });
  });
}

export default async function setup(project) {
  const relay = await startRelay();
  const settings = { gatehouseUrl: relay.url, token: "plain-origin-product-token-0123456789abcdef", issuer: "gatehouse", audience: "plain-origin", now: relay.now };
  const origin = await startPlainOrigin(settings);
  const python = await startPythonOrigin(settings);
  project.provide("plainOrigin", { originUrl: origin.url, pythonOriginUrl: python?.url ?? null, relayUrl: relay.url, productToken: settings.token, audience: settings.audience });
  return async () => {
    python?.close();
    await origin.close();
    await relay.close();
  };
}
