// Load runs with autocannon, bounded in time and in requests, loopback only.
import autocannon from "autocannon";

/**
 * One measured run after a short unrecorded warm-up (JIT, connection setup).
 * Throws if any answer was not 2xx: the bench measures working requests only
 * (a 401 or 403 is far cheaper than the real thing and would flatter the result).
 */
export async function measure(url, { cookie, connections, seconds, maxRequests }) {
  const base = { url, headers: cookie ? { cookie } : {}, connections, pipelining: 1 };
  await run({ ...base, duration: 1, maxOverallRequests: Math.max(connections, Math.ceil(maxRequests / 10)) });
  const r = await run({ ...base, duration: seconds, maxOverallRequests: maxRequests });
  if (r.non2xx || r.errors || r.timeouts) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.mean, requests: r.requests.total };
}

function run(opts) {
  return new Promise((resolve, reject) => {
    // A hard stop a little after the planned end, in case the server stops answering.
    const instance = autocannon({ ...opts, timeout: 10 }, (err, result) => {
      clearTimeout(guard);
      if (err) reject(err);
      else resolve(result);
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
 * Runs each named target once per round, the order alternating between rounds so that
 * neither side always runs right after the other (the machine is shared and noisy),
 * and returns, per target, the median of each figure over the rounds.
 */
export async function interleaved(targets, rounds, options) {
  const samples = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    const names = Object.keys(targets);
    if (round % 2) names.reverse();
    for (const name of names) samples[name].push(await measure(targets[name].url, { ...options, cookie: targets[name].cookie }));
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, runs]) => [
      name,
      { rounds: runs, ...Object.fromEntries(["rps", "p50", "p99", "mean"].map((k) => [k, median(runs.map((r) => r[k]))])) },
    ]),
  );
}
