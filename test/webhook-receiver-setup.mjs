// Vitest globalSetup of the workerd tests (vitest.config.ts): a product's webhook receiver as
// a real HTTP server on a loopback port (the tenants' objects deliver to it over the network,
// as to a product), which a test can stop and start again on the same port. A second server
// on its own port is its control: POST /stop (the receiver stops listening: connections are
// refused), POST /start, POST /reset, GET /received (every request it took, oldest first,
// with its Standard Webhooks headers and raw body). Read with `inject("webhookReceiver")`.
import { createServer } from "node:http";

export default async function setup(project) {
  const received = [];
  const sockets = new Set();
  const receiver = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    received.push({ id: req.headers["webhook-id"] ?? "", timestamp: req.headers["webhook-timestamp"] ?? "", signature: req.headers["webhook-signature"] ?? "", body });
    res.writeHead(204).end();
  });
  receiver.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const listen = (server, port) => new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const stop = () =>
    new Promise((resolve) => {
      receiver.close(resolve);
      for (const socket of sockets) socket.destroy(); // kept-alive connections too: nothing is taken while stopped
    });
  await listen(receiver, 0);
  const port = receiver.address().port;
  const control = createServer(async (req, res) => {
    const answer = (value) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value));
    if (req.method === "GET" && req.url === "/received") return answer(received);
    if (req.method === "POST" && req.url === "/stop") return answer(await stop().then(() => "stopped"));
    if (req.method === "POST" && req.url === "/start") return answer(await (receiver.listening ? Promise.resolve() : listen(receiver, port)).then(() => "listening"));
    if (req.method === "POST" && req.url === "/reset") return answer((received.length = 0));
    res.writeHead(404).end();
  });
  await listen(control, 0);
  project.provide("webhookReceiver", { url: `http://127.0.0.1:${port}/webhooks/gatehouse`, controlUrl: `http://127.0.0.1:${control.address().port}` });
  return async () => {
    await new Promise((resolve) => control.close(resolve));
    if (receiver.listening) await stop();
  };
}
