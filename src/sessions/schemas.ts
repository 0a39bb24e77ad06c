import { z } from "../lib/zod";

const id = z.string().regex(/^[a-z0-9_]{1,64}$/, "must be an id");

export const listSessionsQuery = z.strictObject({ userId: id.optional() });
export const sessionIdParam = z.strictObject({ sessionId: id });
export const userIdParam = z.strictObject({ id });
/** Routes without a body still reject one, so nothing unexpected is silently ignored. */
export const emptyBody = z.strictObject({});
