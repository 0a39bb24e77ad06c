/**
 * The edge check: what every authenticated request passes, as one unit that any entry
 * point (the API, and whatever fronts a product next) mounts the same way. Three small
 * steps, in this order:
 *
 *   1. requireSession       the cookie names a live session (a fresh session snapshot the
 *                           tenant's edge document leaves standing, else KV, D1 on a
 *                           miss; fail closed with 503); sets the session's own user.
 *   2. resolveImpersonation whom the request acts as while an admin impersonates.
 *   3. enforceIpRules       the tenant's IP rules for the client address, from the same
 *                           edge document (KV `tenant-edge:<tenantId>`, src/edge-document/).
 *
 * A hot request makes no D1 query and at most one KV read per tenant per isolate-second
 * with a snapshot (tested; what each step reads and how stale it may be: docs/consistency.md). Only a request that passes every check,
 * and is not refused further on, counts as the session's activity.
 */
import { every } from "hono/combine";
import { type ImpersonationOptions, resolveImpersonation } from "./impersonation/middleware";
import { enforceIpRules } from "./ip-rules";
import type { SessionCheckOptions } from "./sessions/activity";
import { requireSession } from "./sessions/middleware";

export const edgeCheck = (options: ImpersonationOptions & SessionCheckOptions = {}) =>
  every(requireSession({ issueSnapshots: options.issueSnapshots ?? true }), resolveImpersonation(options), enforceIpRules());
