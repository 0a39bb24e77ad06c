/**
 * GET /Users's query (RFC 7644 §3.4.2): an optional filter (./filter.ts) and paging by
 * `startIndex` (1-based) and `count`. As §3.4.2.4 says, a startIndex below 1 is read as 1
 * and a negative count as 0; a count above MAX_PAGE_SIZE gets MAX_PAGE_SIZE (the
 * ServiceProviderConfig's filter.maxResults). `attributes` and `excludedAttributes` are
 * accepted and not applied: every answer carries the whole resource.
 */
import { z } from "../lib/zod";

export const MAX_PAGE_SIZE = 100;

const integer = z.coerce.number({ error: "must be an integer" }).int("must be an integer");

export const listQuery = z
  .strictObject({
    filter: z.string().max(1000).optional(),
    startIndex: integer.optional(),
    count: integer.optional(),
    attributes: z.string().max(1000).optional(),
    excludedAttributes: z.string().max(1000).optional(),
  })
  .transform((q) => ({
    filter: q.filter,
    startIndex: Math.max(1, q.startIndex ?? 1),
    count: Math.min(MAX_PAGE_SIZE, Math.max(0, q.count ?? MAX_PAGE_SIZE)),
  }));
