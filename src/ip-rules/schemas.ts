import { idSchema as id } from "../lib/schemas";
import { type Infer, z } from "../lib/zod";
import { parseAddress, parseNetwork } from "./cidr";

/**
 * A tenant keeps at most this many rules (expired ones included: they are still
 * stored, listed and compiled until deleted). The limit bounds the KV entry (~300 B
 * a rule, so ~300 KB, far under KV's 25 MiB value limit), the D1 read on a cache
 * miss and a list a person can still review. It is not a CPU bound: a check costs
 * the same for 10 or 1,000 rules (bench/ip-rules-check.mjs).
 */
export const MAX_RULES_PER_TENANT = 1000;

export const MAX_DESCRIPTION_LENGTH = 200;


/** A network as typed → its canonical text, or one clear issue saying what is wrong. */
const cidr = z
  .string({ error: "must be a string such as 203.0.113.0/24 or 2001:db8::/32" })
  .max(64, "is too long for an address or network")
  .transform((value, ctx) => {
    const parsed = parseNetwork(value);
    if (!parsed.ok) {
      ctx.addIssue({ code: "custom", message: parsed.message });
      return z.NEVER;
    }
    return parsed.value.cidr;
  });

const action = z.enum(["allow", "deny"], { error: 'must be "allow" or "deny"' });

// An empty description means none.
const description = z
  .string()
  .trim()
  .max(MAX_DESCRIPTION_LENGTH, `must be at most ${MAX_DESCRIPTION_LENGTH} characters`)
  .transform((v) => (v === "" ? null : v));

// Epoch ms; "in the future" is checked by the route against the request's clock.
const expiresAt = z.iso
  .datetime({ offset: true, error: "must be an ISO 8601 date-time such as 2026-12-31T23:59:59Z" })
  .transform((v) => Date.parse(v));

export const ruleIdParam = z.strictObject({ id });

export const createRuleBody = z.strictObject({
  action,
  cidr,
  description: description.nullish().transform((v) => v ?? null),
  expiresAt: expiresAt.nullish().transform((v) => v ?? null),
});

export const updateRuleBody = z
  .strictObject({
    action: action.optional(),
    cidr: cidr.optional(),
    description: description.nullable().optional(),
    expiresAt: expiresAt.nullable().optional(),
  })
  .refine((body) => Object.values(body).some((v) => v !== undefined), { message: "Send at least one field to change" });

export const checkQuery = z.strictObject({
  ip: z
    .string()
    .max(64, "is too long for an address")
    .transform((value, ctx) => {
      const parsed = parseAddress(value);
      if (!parsed.ok) {
        ctx.addIssue({ code: "custom", message: parsed.message });
        return z.NEVER;
      }
      return value.trim();
    })
    .optional(),
});

export type CreateRuleBody = Infer<typeof createRuleBody>;
export type UpdateRuleBody = Infer<typeof updateRuleBody>;
