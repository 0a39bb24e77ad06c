import { idSchema } from "../lib/schemas";
import { z } from "../lib/zod";

export const listSessionsQuery = z.strictObject({ userId: idSchema.optional() });
export const sessionIdParam = z.strictObject({ sessionId: idSchema });
