// The gateway settings of a local run (`npm start`, scripts/start.mjs): read from the
// environment and from .dev.vars, checked, and handed to wrangler dev as --var values.
// wrangler dev reads from .dev.vars only the secrets wrangler.toml declares and nothing
// from the environment, so without this they would be silently ignored.
//
//   ORIGIN_URL=http://localhost:5000 ASSERTION_AUDIENCE=my-app npm start
//
// puts Gatehouse in front of that origin instead of the demo product. Whatever this cannot
// honour is refused, every problem at once, before anything starts: an unknown GATEHOUSE_*
// option, a .dev.vars line wrangler would ignore, a setting given differently in both
// places, and settings that contradict each other or the run (below).
//
// Pure (no Node imports), so the workerd tests run it (test/local-settings.test.ts).

/** The Worker's gateway settings a local run passes on (docs/integrate.md). */
export const GATEWAY_SETTINGS = [
  "ORIGIN_URL",
  "ASSERTION_AUDIENCE",
  "ASSERTION_ISSUER",
  "PUBLIC_PATHS",
  "STEP_UP_ROUTES",
  "PRODUCT_STEP_UP_PURPOSES",
  "SIGN_OUT_PATH",
  "PRODUCT_API_TOKENS",
];

/** Settings that describe the product: meaningless, so refused, when Gatehouse runs alone. */
const PRODUCT_SETTINGS = GATEWAY_SETTINGS.filter((name) => name !== "SIGN_OUT_PATH");

/** The demo product (examples/acme-notes) checks these itself: another value would lock it out. */
const DEMO_FIXED = ["ASSERTION_AUDIENCE", "ASSERTION_ISSUER"];

/** The options of the local tools (scripts/, e2e/, bench/); any other GATEHOUSE_* name is a typo. */
export const LOCAL_OPTIONS = [
  "GATEHOUSE_PATH",
  "GATEHOUSE_STANDALONE",
  "GATEHOUSE_PERSIST_TO",
  "GATEHOUSE_IDP_ISSUER",
  "GATEHOUSE_QUIET",
  "GATEHOUSE_EXTRA_SEED",
  "GATEHOUSE_LOGIN_ADDRESS_LIMIT",
  "GATEHOUSE_SKIP_UI_BUILD",
  "GATEHOUSE_URL",
  "GATEHOUSE_PWNED_PASSWORDS_API",
];

/** .dev.vars as wrangler reads it: NAME=value lines, `#` comments, a value in matching quotes unquoted. */
export function parseDevVars(text) {
  const vars = new Map();
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith("#")) continue;
    const [, name, raw] = match;
    const quoted = /^(['"])(.*)\1$/.exec(raw);
    vars.set(name, quoted ? quoted[2] : raw);
  }
  return vars;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

function originUrlProblem(text, port) {
  if (!URL.canParse(text)) return `ORIGIN_URL ${JSON.stringify(text)} is not a URL (e.g. http://localhost:5000)`;
  const url = new URL(text);
  if (url.protocol !== "http:" && url.protocol !== "https:") return "ORIGIN_URL must be http:// or https://";
  if (url.pathname !== "/" || url.search || url.hash || url.username || url.password) return "ORIGIN_URL is an origin only: scheme, host and port, no path, query or credentials";
  const urlPort = url.port || (url.protocol === "https:" ? "443" : "80");
  if (LOOPBACK.has(url.hostname) && urlPort === String(port)) return `ORIGIN_URL is Gatehouse's own address (port ${port}): every request would loop; run your origin on another port, or set PORT`;
  return null;
}

/**
 * What the run serves (`origin`: the demo product, the ORIGIN_URL given, or none when
 * GATEHOUSE_STANDALONE=1) and the vars to pass to wrangler dev. Throws an Error naming
 * every problem.
 *
 * @param {{ env: Record<string, string | undefined>, devVars: Map<string, string>, declaredSecrets: string[], standalone: boolean, port: string | number }} input
 * @returns {{ origin: "demo" | "url" | "none", vars: Record<string, string> }}
 */
export function localSettings({ env, devVars, declaredSecrets, standalone, port }) {
  const problems = [];
  for (const name of Object.keys(env)) {
    if (name.startsWith("GATEHOUSE_") && !LOCAL_OPTIONS.includes(name)) problems.push(`${name} is not an option of the local tools (${LOCAL_OPTIONS.join(", ")})`);
  }
  for (const name of devVars.keys()) {
    if (!declaredSecrets.includes(name) && !GATEWAY_SETTINGS.includes(name)) {
      problems.push(`${name} in .dev.vars is neither a secret wrangler.toml declares nor a gateway setting (${GATEWAY_SETTINGS.join(", ")}): wrangler dev would ignore it`);
    }
  }
  const vars = {};
  for (const name of GATEWAY_SETTINGS) {
    const fromEnv = env[name] || undefined;
    const fromFile = devVars.get(name) || undefined;
    if (fromEnv !== undefined && fromFile !== undefined && fromEnv !== fromFile) problems.push(`${name} is set differently in the environment and in .dev.vars: keep one`);
    const value = fromEnv ?? fromFile;
    if (value !== undefined) vars[name] = value;
  }
  if (env.GATEHOUSE_PATH) vars.GATEHOUSE_PATH = env.GATEHOUSE_PATH;
  const origin = standalone ? "none" : vars.ORIGIN_URL ? "url" : "demo";
  if (origin === "none") {
    const given = PRODUCT_SETTINGS.filter((name) => name in vars);
    if (given.length > 0) problems.push(`GATEHOUSE_STANDALONE=1 serves no product, but ${given.join(", ")} ${given.length === 1 ? "is" : "are"} set: drop one or the other`);
  }
  if (origin === "url") {
    const problem = originUrlProblem(vars.ORIGIN_URL, port);
    if (problem) problems.push(problem);
    if (!vars.ASSERTION_AUDIENCE) problems.push("ORIGIN_URL needs ASSERTION_AUDIENCE: the `aud` your origin expects in the assertion");
  }
  if (origin === "demo") {
    const given = DEMO_FIXED.filter((name) => name in vars);
    if (given.length > 0) problems.push(`${given.join(" and ")} would lock the demo product out (it expects its own): set ORIGIN_URL to put your own origin behind Gatehouse`);
  }
  if (problems.length > 0) throw new Error(`npm start cannot honour these settings:\n  - ${problems.join("\n  - ")}`);
  return { origin, vars };
}
