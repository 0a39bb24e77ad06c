#!/usr/bin/env node
// `npm run keys -- <command> <SECRET> [options]`: makes, rotates and retires Gatehouse's keys
// from what the operator keeps in their secret manager (the usage and the threat model:
// scripts/keys/run.mjs; what each secret holds: scripts/keys/kinds.mjs; the rotation
// procedure: docs/operations.md#rotating-keys).
//
// It reads and writes each secret with the Worker's own parsers, imported from src/ as
// TypeScript: Node 24 (the `node` devDependency `npm run` uses) strips the types, and the
// hook below lets src/'s extensionless relative imports find their `.ts` files, as the
// bundler does. `--js-base-64` (package.json's script) turns on the Uint8Array base64
// methods src/lib/crypto.ts uses, built into workerd.
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { text } from "node:stream/consumers";
import { wranglerSync } from "./wrangler.mjs";

registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (error) {
      if (specifier.startsWith(".") && !/\.[cm]?[jt]s$/.test(specifier)) return next(`${specifier}.ts`, context);
      throw error;
    }
  },
});
const { runKeys } = await import("./keys/run.mjs");

process.env.WRANGLER_SEND_METRICS ??= "false";
const result = await runKeys(process.argv.slice(2), {
  readStdin: () => text(process.stdin),
  stdinIsTTY: Boolean(process.stdin.isTTY),
  stdoutIsTTY: Boolean(process.stdout.isTTY),
  now: new Date(),
  // Created, never overwritten, readable by the operator alone.
  writeTokenFile: (path, token) => writeFileSync(path, `${token}\n`, { flag: "wx", mode: 0o600 }),
  put(name, value, env) {
    // The value goes on wrangler's stdin, never on its command line.
    const res = wranglerSync(["secret", "put", name, ...(env ? ["--env", env] : [])], { input: value, encoding: "utf8" });
    return res.status === 0 ? { ok: true } : { ok: false, message: `exit ${res.status ?? res.signal}\n${res.stderr}` };
  },
});
process.stderr.write(result.stderr);
process.stdout.write(result.stdout);
process.exitCode = result.code;
