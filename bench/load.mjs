// Load runs with autocannon, bounded in time and in requests, loopback only.
import autocannon from "autocannon";

/**
 * One measured run after a short unrecorded warm-up (JIT, connection setup).
 * Throws if any answer was not 2xx: the bench measures working requests only
 * (a 401 or 403 is far cheaper than the real thing and would flatter the result).
 */
export async function measure(url, { cookie, cookies, headers = {}, cpuSeconds, connections, seconds, maxRequests, warmUp = true }) {
  const base = { url, headers: cookie ? { ...headers, cookie } : { ...headers }, connections, pipelining: 1 };
  if (cookies) {
    // One session after another, round robin: each is seen again only after all the others.
    let next = 0;
    base.requests = [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[next++ % cookies.length] } }) }];
  }
  if (warmUp) await run({ ...base, duration: 1, maxOverallRequests: Math.max(connections, Math.ceil(maxRequests / 10)) });
  const cpuBefore = cpuSeconds();
  const r = await run({ ...base, duration: seconds, maxOverallRequests: maxRequests });
  // Server-side CPU (all of its processes) per request: a profile that noise in wall time barely touches.
  const cpuMs = ((cpuSeconds() - cpuBefore) * 1000) / Math.max(1, r.requests.total);
  if (r.non2xx || r.errors || r.timeouts) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  const t = r.times.sort((a, b) => a - b);
  const pct = (p) => t[Math.min(t.length - 1, Math.floor((p / 100) * t.length))];
  return { rps: r.requests.average, p50: pct(50), p99: pct(99), mean: r.latency.mean, cpuMs, requests: r.requests.total };
}

function run(opts) {
  return new Promise((resolve, reject) => {
    // autocannon's histogram keeps whole milliseconds; its per-response event has the
    // hrtime duration, which the few-millisecond pages need to be compared at all.
    const times = [];
    // A hard stop a little after the planned end, in case the server stops answering.
    const instance = autocannon({ ...opts, timeout: 10 }, (err, result) => {
      clearTimeout(guard);
      if (err) reject(err);
      else resolve({ ...result, times });
    });
    instance.on("response", (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) times.push(ms);
    });
    const guard = setTimeout(() => instance.stop(), (opts.duration + 15) * 1000);
  });
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/**
 * Runs each named target ({ url, cookie? or cookies?, headers?, cpuSeconds, before? }) once per round, the order alternating between rounds so that
 * neither side always runs right after the other (the machine is shared and noisy),
 * and returns, per target, the median of each figure over the rounds.
 */
export async function interleaved(targets, rounds, options) {
  const samples = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    const names = Object.keys(targets);
    if (round % 2) names.reverse();
    for (const name of names) {
      await targets[name].before?.();
      samples[name].push(await measure(targets[name].url, { ...options, ...targets[name] }));
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, runs]) => [
      name,
      { rounds: runs, ...Object.fromEntries(["rps", "p50", "p99", "mean", "cpuMs"].map((k) => [k, median(runs.map((r) => r[k]))])) },
    ]),
  );
}
