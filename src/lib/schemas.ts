// Schemas shared by several features.
import { z } from "./zod";

/** Our ids: lower-case letters, digits and underscores (see randomId). */
export const idSchema = z.string().regex(/^[a-z0-9_]{1,64}$/, "must be an id");

export const userIdParam = z.strictObject({ id: idSchema });

/** Routes without a body still reject one, so nothing unexpected is silently ignored. */
export const emptyBody = z.strictObject({});

/**
 * A name people read (a member's display name, a tenant's name): trimmed, 1 to 100
 * characters, none of them a control (BEL, NUL), format (U+202E that reverses what follows
 * it, zero-width characters that hide or forge text), lone surrogate or line/paragraph
 * separator character: such a name is shown in the team list, audit rows and the product's
 * assertion (`name`). Every route that writes one validates it with this schema.
 */
export const displayNameSchema = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(100)
  .regex(/^[^\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]*$/u, "must not contain control or format characters");
