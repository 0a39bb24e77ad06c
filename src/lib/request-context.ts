/**
 * What every request Gatehouse handles starts with (the API, the gateway, the RPC
 * entrypoint): the clock read once, the database handle, and the request's id (with its
 * log scope). Tests inject the clock.
 */
import { every } from "hono/combine";
import { createMiddleware } from "hono/factory";
import { createDb } from "../db/client";
import type { AppEnv } from "../env";
import { assignRequestId } from "./request-meta";

export type ClockOptions = {
  /** The clock, in epoch milliseconds. Tests inject one; production uses Date.now. */
  now?: () => number;
};

export function requestContext(options: ClockOptions = {}) {
  const now = options.now ?? Date.now;
  return every(
    createMiddleware<AppEnv>(async function clockAndDb(c, next) {
      c.set("now", now());
      c.set("db", createDb(c.env.DB));
      await next();
    }),
    assignRequestId(),
  );
}
