/**
 * The worker's one logger. Every line is one JSON object with `level`, `msg` and the
 * `requestId` of the request (or cron run) it belongs to, whatever code logs it: the id
 * is carried by an AsyncLocalStorage scope opened where the id is assigned
 * (src/lib/request-meta.ts, the cron in src/index.ts), so code deep in a call (the
 * audit chain, verification) needs no context passed down. Nothing else in src/ calls
 * console (a test reads the sources).
 *
 * What an error may say in a log line is decided here only (errorSummary, errorFields).
 */
import { AsyncLocalStorage } from "node:async_hooks";

export type LogLevel = "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

const scope = new AsyncLocalStorage<{ requestId: string }>();

/** Runs `fn` with every log line inside it (awaited work included) carrying `requestId`. */
export function withLogScope<T>(requestId: string, fn: () => T): T {
  return scope.run({ requestId }, fn);
}

/** The id of the request (or cron run) being handled, if any. */
export const currentRequestId = (): string | null => scope.getStore()?.requestId ?? null;

function write(level: LogLevel, msg: string, fields: LogFields): void {
  // `level`, `msg` and `requestId` are the logger's: a field cannot overwrite them.
  const line = JSON.stringify({ ...fields, level, msg, requestId: currentRequestId() });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export const log = {
  info: (msg: string, fields: LogFields = {}) => write("info", msg, fields),
  warn: (msg: string, fields: LogFields = {}) => write("warn", msg, fields),
  error: (msg: string, fields: LogFields = {}) => write("error", msg, fields),
};

// Bearer tokens, session cookies (`<id>.<secret>`), JWTs, keys, hashes: runs of 20 or
// more base64/base64url/hex characters with a digit and a lower-case letter among them
// (names such as AUDIT_RETENTION_DAYS stay readable). An error's text can quote a header
// or a value it choked on; such runs are masked before the text reaches a log line.
const TOKEN_LIKE = /[A-Za-z0-9_+/=-]{20,}/g;
export const REDACTED = "[redacted]";

const redact = (text: string) => text.replace(TOKEN_LIKE, (run) => (/[0-9]/.test(run) && /[a-z]/.test(run) ? REDACTED : run));

/**
 * What an error may say in a log line. Drizzle's query errors carry the SQL and every
 * bound value in their message (emails, addresses, sealed secrets, audit payloads), so
 * a log line names the error and its cause's message, never the query or its parameters;
 * token-like runs in any message are masked.
 */
export function errorSummary(err: unknown): string {
  if (!(err instanceof Error)) return typeof err === "string" ? redact(err.slice(0, 200)) : "non-Error thrown";
  const cause = err.cause instanceof Error ? err.cause : null;
  // A query error's own message is "Failed query: <sql>\nparams: <values>": only its cause is safe.
  if (cause) return redact(`${err.name}: ${cause.name}: ${cause.message}`);
  if (/^Failed query:/.test(err.message)) return err.name;
  return redact(`${err.name}: ${err.message}`);
}

/**
 * An unexpected error's fields for its log line: its name, the summary above and its
 * stack frames. The stack's first lines repeat the message (unfiltered), so only the
 * `at …` frames are kept: code locations, never data.
 */
export function errorFields(err: unknown): { errorName: string; error: string; stack: string | null } {
  const stack = err instanceof Error && typeof err.stack === "string" ? err.stack.split("\n").filter((line) => /^\s+at /.test(line)).map((line) => line.trim()) : [];
  return {
    errorName: err instanceof Error ? err.name : typeof err,
    error: errorSummary(err),
    stack: stack.length > 0 ? stack.join("\n") : null,
  };
}
