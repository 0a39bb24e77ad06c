// Schemas shared by several features.
import { z } from "./zod";

/** Our ids: lower-case letters, digits and underscores (see randomId). */
export const idSchema = z.string().regex(/^[a-z0-9_]{1,64}$/, "must be an id");

export const userIdParam = z.strictObject({ id: idSchema });

/** Routes without a body still reject one, so nothing unexpected is silently ignored. */
export const emptyBody = z.strictObject({});
