// A V8 sampling profile of the Worker while it serves load: where its own JavaScript
// CPU goes, by function. `wrangler dev` serves the DevTools protocol through its
// inspector proxy on a port of its choosing (9229 unless taken); we find it through /proc
// (the listening sockets of the server's process group) and ask it for the Worker.
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

const procs = () => readdirSync("/proc").filter((d) => /^\d+$/.test(d));

function groupPids(pgid) {
  return procs().filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) === pgid;
    } catch {
      return false;
    }
  });
}

/** Loopback ports the process listens on (/proc/net/tcp: state 0A, matched by socket inode). */
function listeningPorts(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // fd closed meanwhile
    }
  }
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[3] === "0A" && inodes.has(f[9]))
    .map((f) => parseInt(f[1].split(":")[1], 16));
}

async function findTarget(pgid, scriptName) {
  for (const pid of groupPids(pgid)) {
    for (const port of listeningPorts(pid)) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(1000) });
        const targets = await res.json();
        // wrangler's inspector proxy (its node process) forwards to workerd; workerd's own
        // port accepts a second client but does not answer it while wrangler is attached.
        const t = targets.find((x) => x.description === "workers" && x.webSocketDebuggerUrl);
        if (t) return t.webSocketDebuggerUrl;
      } catch {
        // not the inspector port
      }
    }
  }
  throw new Error("no DevTools target for the Worker");
}

function cdp(url) {
  // The inspector proxy refuses upgrades without an allowed Origin (DNS rebinding guard).
  const ws = new WebSocket(url, { headers: { origin: "http://127.0.0.1" } });
  let next = 0;
  const pending = new Map();
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.id !== undefined && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  };
  const opened = new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      pending.set(id, (msg) => (msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { opened, send, close: () => ws.close() };
}

/**
 * Profiles the Worker `scriptName` of the server whose process group is `pgid` while
 * `load()` runs (it returns { requests }); returns the isolate's busy time per request
 * and the top functions by self time, as shares of the busy samples (idle excluded).
 */
export async function profileWhile(pgid, scriptName, load, top = 12) {
  const session = cdp(await findTarget(pgid, scriptName));
  await session.opened;
  try {
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: 200 }); // µs
    await session.send("Profiler.start");
    const { requests } = await load();
    const { profile } = await session.send("Profiler.stop");
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parentOf = new Map(profile.nodes.flatMap((n) => (n.children ?? []).map((c) => [c, n])));
    const name = ({ functionName, url, lineNumber }) => `${functionName || "(anonymous)"}${url ? ` (${url.split("/").pop()}:${lineNumber + 1})` : ""}`;
    const self = new Map();
    profile.samples.forEach((id, i) => {
      const node = byId.get(id);
      if (node.callFrame.functionName === "(idle)") return;
      // A built-in (no script URL: a Headers or Map method, crypto, JSON) is named with its caller.
      const parent = node.callFrame.url || node.callFrame.functionName.startsWith("(") ? null : parentOf.get(id);
      const key = parent ? `${name(node.callFrame)} ← ${name(parent.callFrame)}` : name(node.callFrame);
      self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
    });
    const total = [...self.values()].reduce((a, b) => a + b, 0);
    return {
      busyMsPerRequest: total / 1000 / Math.max(1, requests),
      top: [...self.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([fn, us]) => ({ fn, share: us / total })),
    };
  } finally {
    session.close();
  }
}
