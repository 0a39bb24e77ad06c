/** Input of the RPC entrypoint (src/rpc/service.ts), validated like the HTTP API's bodies. */
import { array, enum as zEnum, ipv4, ipv6, looseObject, record, strictObject, string, tuple, union } from "zod";
import { boundedJsonObjectSchema, boundedJsonSchema, productAuditActionSchema, productTargetTypeSchema } from "../audit/product-events";
import { idSchema } from "../lib/schemas";

const MAX_HEADERS = 200;
const headerName = string().min(1).max(256);
const headerValue = string().max(16 * 1024);
const ipAddress = union([ipv4(), ipv6()], { error: "must be an IPv4 or IPv6 address" });

export const authenticateInputSchema = strictObject({
  headers: union([
    array(tuple([headerName, headerValue])).max(MAX_HEADERS),
    record(headerName, headerValue).refine((h) => Object.keys(h).length <= MAX_HEADERS, `at most ${MAX_HEADERS} headers`),
  ]),
  clientIp: ipAddress.optional(),
});

/** Read first, to find the session (and so the tenant) before the rest is validated. */
export const sessionIdInputSchema = looseObject({ sessionId: idSchema });

export const requireStepUpInputSchema = strictObject({
  sessionId: idSchema,
  // A purpose the product declared (PRODUCT_STEP_UP_PURPOSES): checked by the route.
  purpose: string().max(64),
});

export const auditEventInputSchema = strictObject({
  sessionId: idSchema,
  // Whom the product acted for (the `user.id` authenticate answered): the session must still act as them.
  userId: idSchema,
  action: productAuditActionSchema,
  outcome: zEnum(["SUCCESS", "FAIL"]),
  targetType: productTargetTypeSchema.optional(),
  targetId: string().min(1).max(128).optional(),
  failureReason: string().min(1).max(128).optional(),
  before: boundedJsonSchema.optional(),
  after: boundedJsonSchema.optional(),
  metadata: boundedJsonObjectSchema.optional(),
  ip: ipAddress.optional(),
  // Printable ASCII: it travels as the User-Agent header of the internal request.
  userAgent: string().max(1024).regex(/^[\x20-\x7e]*$/, "must be printable ASCII").optional(),
  requestId: string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be 1-128 of A-Z, a-z, 0-9, '.', '_', ':' and '-'").optional(),
  // The product's key for this event (src/rpc/idempotency.ts): long enough to be random, e.g. a UUID.
  idempotencyKey: string().regex(/^[A-Za-z0-9._:-]{16,128}$/, "must be 16-128 of A-Z, a-z, 0-9, '.', '_', ':' and '-', e.g. a UUID").optional(),
});
