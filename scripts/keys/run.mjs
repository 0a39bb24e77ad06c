// The steps of `npm run keys` (scripts/keys.mjs is the command; this is what it does, with
// its input, output and `wrangler secret put` injected so the tests drive it in-process).
//
// Threat model: the operator keeps every secret in their own secret manager, because
// rotating needs the current value and Cloudflare never gives a secret back. So the current
// set comes in on stdin (from that manager or a file), never on the command line (shell
// history, `ps`), and the result leaves either straight into `wrangler secret put` (on its
// stdin) or on stdout to go back into the manager, never onto a terminal: a private key is
// printed only where it must go. Messages name keys by id, never by value. Whatever the
// command writes is first read back by the Worker's own parser, so it never puts a set the
// Worker would refuse at startup (503 CONFIG_INVALID everywhere).
import { KINDS, KeysError } from "./kinds.mjs";

export const USAGE = `usage: npm run keys -- <command> <SECRET> [options]

  new <SECRET>             a fresh secret (a set of one key)
  add <SECRET>             the current set (stdin) plus a new key, last: accepted, not yet used
  promote <SECRET>         the current set (stdin) with its last key moved first: it signs from now on
  retire <SECRET> <id>     the current set (stdin) without the key <id> (never the current one)
  show <SECRET>            the ids in the current set (stdin), current first; no key material

  --put [--env <name>]     also hand the result to \`wrangler secret put <SECRET>\` (on its stdin)
  --dev-vars               print it as a .dev.vars line (local development)
  --token-file <path>      PRODUCT_API_TOKENS: where the new token goes (created, mode 600); the
                           secret holds only its SHA-256

SECRET: ${Object.keys(KINDS).join(", ")}
The result goes to stdout, which must not be a terminal: redirect it into your secret manager
(or a file you store there and delete), with --put as well or not. Rotation step by step: docs/operations.md#rotating-keys.`;

const COMMANDS = new Set(["new", "add", "promote", "retire", "show"]);

function parseArgs(args) {
  const options = { put: false, env: null, devVars: false, tokenFile: null };
  const positional = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--put") options.put = true;
    else if (arg === "--dev-vars") options.devVars = true;
    else if ((arg === "--env" || arg === "--token-file") && args[i + 1] !== undefined && !args[i + 1].startsWith("--")) {
      options[arg === "--env" ? "env" : "tokenFile"] = args[++i];
    } else if (arg.startsWith("--")) throw new UsageError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  const [command, name, ...rest] = positional;
  if (!COMMANDS.has(command)) throw new UsageError(command ? `unknown command ${command}` : "no command");
  if (!(name in KINDS)) throw new UsageError(name ? `unknown secret ${name}` : "no secret named");
  const want = command === "retire" ? 1 : 0;
  // Nothing but a key id is read from the command line: a key there would sit in the shell's history.
  if (rest.length !== want) throw new UsageError(command === "retire" ? "retire takes one key id" : `${command} takes no value on the command line (the current set comes on stdin)`);
  if (options.put && options.devVars) throw new UsageError("use --put or --dev-vars, not both");
  if (options.env !== null && !options.put) throw new UsageError("--env goes with --put");
  return { command, name, keyId: rest[0] ?? null, options };
}

class UsageError extends Error {}

/** The new list of entries, and the token a new product credential carries (if any). */
async function nextEntries(command, kind, name, current, keyId, now) {
  if (command === "new") {
    const made = await kind.make(now);
    return { entries: [made.entry], token: made.token, madeId: made.entry.id };
  }
  if (command === "show") return { entries: current };
  if (command === "add") {
    const made = await kind.make(now);
    return { entries: [...current, made.entry], token: made.token, madeId: made.entry.id };
  }
  if (command === "promote") {
    if (kind.unordered) throw new KeysError(`${name}: every entry is accepted alike; there is nothing to promote`);
    if (current.length < 2) throw new KeysError(`${name} holds one key: add the new one first, put it, then promote it`);
    return { entries: [current.at(-1), ...current.slice(0, -1)] };
  }
  const index = current.findIndex((entry) => entry.id === keyId);
  if (index < 0) throw new KeysError(`${name} holds no key ${JSON.stringify(keyId)} (it holds ${current.map((e) => e.id).join(", ")})`);
  if (index === 0 && !kind.unordered) throw new KeysError(`${keyId} is ${name}'s current key: promote another key first`);
  if (current.length === 1) throw new KeysError(`${keyId} is ${name}'s only entry: a set cannot be empty`);
  return { entries: current.filter((_, i) => i !== index) };
}

function describe(name, kind, entries) {
  if (!kind.rotates) return `${name}: a new value`;
  const roles = entries.map((entry, i) => `${entry.id} (${kind.unordered ? "accepted" : i === 0 ? "current" : "previous"})`);
  return `${name}: ${roles.join(", ")}`;
}

const NEXT = {
  add: (name, id) =>
    name === "SESSION_SNAPSHOT_KEYS"
      ? `Promote ${id} at once (nothing is stored under this key), put the result, and retire the old key 6 minutes later.`
      : name === "PRODUCT_API_TOKENS"
        ? "Put it, move the product to the new token, then retire the old entry."
        : `Put it; once every isolate serves it (${name === "ASSERTION_SIGNING_KEYS" ? "6 minutes: the JWKS max-age plus margin" : "a few minutes"}), promote ${id}.`,
  promote: (name) => `Put it. The old key stays as a previous key until you retire it (when: docs/operations.md#rotating-keys${name === "TOTP_ENCRYPTION_KEY" || name === "AUDIT_CHECKPOINT_KEY" ? "; npm run keys:status shows what still needs it" : ""}).`,
  retire: (name, id) =>
    name === "TOTP_ENCRYPTION_KEY" || name === "AUDIT_CHECKPOINT_KEY"
      ? `Before you put it: npm run keys:status -- --remote must show nothing under ${id}. Keep ${id} offline for the restore window.`
      : "Put it.",
};

/**
 * Runs one command. `io`: { readStdin() → Promise<string>, stdinIsTTY, stdoutIsTTY,
 * put(name, text, env) → { ok, message }, writeTokenFile(path, token), now: Date }.
 * Answers { code, stdout, stderr } (stdout carries the secret, stderr never does).
 */
export async function runKeys(args, io) {
  let parsed;
  try {
    parsed = parseArgs(args);
  } catch (error) {
    if (error instanceof UsageError) return { code: 2, stdout: "", stderr: `keys: ${error.message}\n\n${USAGE}\n` };
    throw error;
  }
  const { command, name, keyId, options } = parsed;
  const kind = KINDS[name];
  try {
    if (command !== "new" && !kind.rotates) await kind.parse("");
    if (kind.needsTokenFile && (command === "new" || command === "add") && !options.tokenFile) {
      throw new KeysError(`${command} ${name} needs --token-file <path>: the new token goes there for the product, never to a terminal`);
    }
    let current = [];
    if (command !== "new") {
      if (io.stdinIsTTY) throw new KeysError(`${command} reads ${name}'s current value on stdin: pipe it from your secret manager or a file (never type or paste a key on the command line)`);
      current = await kind.parse((await io.readStdin()).trim());
    }
    const { entries, token, madeId } = await nextEntries(command, kind, name, current, keyId, io.now);
    const summary = describe(name, kind, entries);
    if (command === "show") return { code: 0, stdout: `${summary}\n`, stderr: "" };

    const text = kind.serialize(entries);
    await kind.check(text);
    // Also with --put: the set must go back into the operator's secret manager, or the next rotation has nothing to start from.
    if (io.stdoutIsTTY) throw new KeysError("the result holds secret keys and stdout is a terminal: redirect it into your secret manager or a file (> new-set.json)");
    if (token !== undefined) await io.writeTokenFile(options.tokenFile, token);
    const told = token === undefined ? "" : ` The new token is in ${options.tokenFile}: give it to the product (it is kept nowhere else).`;
    const next = (NEXT[command]?.(name, madeId ?? keyId) ?? "Put it.") + told;
    if (options.put) {
      const put = await io.put(name, text, options.env);
      if (!put.ok) return { code: 1, stdout: "", stderr: `keys: wrangler secret put ${name} failed: ${put.message}\nNothing was put and nothing printed: the secret is as it was.\n` };
      const done = next.replace(/^Put it[.;] ?/, "");
      return { code: 0, stdout: `${text}\n`, stderr: `${summary}\nPut as ${name}${options.env ? ` (env ${options.env})` : ""}; store the set printed in your secret manager.${done ? ` ${done}` : ""}\n` };
    }
    const stdout = options.devVars ? `${name}='${text}'\n` : `${text}\n`;
    return { code: 0, stdout, stderr: `${summary}\n${next.replace(/^Put it/, `Store it in your secret manager and put it (--put, or wrangler secret put ${name})`)}\n` };
  } catch (error) {
    if (error instanceof KeysError) return { code: 1, stdout: "", stderr: `keys: ${error.message}\n` };
    throw error;
  }
}
