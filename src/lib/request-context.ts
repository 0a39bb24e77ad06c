/**
 * What every request Gatehouse handles starts with (the API, the gateway, the RPC
 * entrypoint): the clock read once, the database handle, the wait a writer may need, and
 * the request's id (with its log scope). Tests inject the clock and the wait.
 */
import { every } from "hono/combine";
import { createMiddleware } from "hono/factory";
import { createDb } from "../db/client";
import type { AppEnv } from "../env";
import { assignRequestId } from "./request-meta";

export type ClockOptions = {
  /** The clock, in epoch milliseconds. Tests inject one; production uses Date.now. */
  now?: () => number;
  /** Waits this many milliseconds (a writer backing off KV's one write per key per second). Tests inject one that moves their clock. */
  pause?: (ms: number) => Promise<void>;
};

const realPause = (ms: number) => scheduler.wait(ms);

export function requestContext(options: ClockOptions = {}) {
  const now = options.now ?? Date.now;
  const pause = options.pause ?? realPause;
  return every(
    createMiddleware<AppEnv>(async function clockAndDb(c, next) {
      c.set("now", now());
      c.set("pause", pause);
      c.set("db", createDb(c.env.DB));
      await next();
    }),
    assignRequestId(),
  );
}
