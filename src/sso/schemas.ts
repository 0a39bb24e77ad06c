/** What single sign-on's routes accept (zod, strict: an unknown field is refused). */
import { emailSchema } from "../lib/email";
import { z } from "../lib/zod";
import { issuerProblem } from "./provider";
import { SSO_PROVISIONED_ROLES } from "./vocabulary";

/** At most this many email domains per connection. */
const MAX_SSO_DOMAINS = 20;

// A DNS host name of two or more labels (RFC 1123), an IDN in its punycode (xn--) form: no
// IP address, no trailing dot, no wildcard; its last label letters or punycode.
const HOSTNAME = /^(?=.{1,253}$)(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/** An email domain as connections hold it: trimmed, lower-case, a host name. */
const domainSchema = z
  .string()
  .max(253)
  .transform((d) => d.trim().toLowerCase())
  .pipe(z.string().regex(HOSTNAME, "must be a host name such as example.com (lower-case letters, digits and hyphens; an IDN in its xn-- form)"));

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

export const connectionBody = z.strictObject({
  issuer: z
    .string()
    .max(2048)
    .superRefine((issuer, ctx) => {
      const problem = issuerProblem(issuer);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  clientId: z.string().min(1).max(255).regex(VISIBLE_ASCII, "must be visible ASCII characters"),
  // Optional when the connection exists: the one it has is kept.
  clientSecret: z.string().min(1).max(1024).regex(VISIBLE_ASCII, "must be visible ASCII characters").optional(),
  domains: z
    .array(domainSchema)
    .min(1)
    .max(MAX_SSO_DOMAINS)
    .refine((domains) => new Set(domains).size === domains.length, "must not list a domain twice"),
  jitProvisioning: z.boolean(),
  defaultRole: z.enum(SSO_PROVISIONED_ROLES),
  requireSso: z.boolean(),
});

export const discoverQuery = z.strictObject({ email: emailSchema });

/** GET /api/auth/sso/start: by the member's email (its domain names the connection) or by the organisation's slug. */
export const startQuery = z
  .strictObject({
    email: emailSchema.optional(),
    tenant: z.string().regex(/^[a-z0-9-]{1,64}$/, "must be an organisation's slug").optional(),
    // Where to go once signed in; only ever used sanitised (src/gateway/return-to.ts).
    returnTo: z.string().max(4096).optional(),
  })
  .refine((q) => (q.email === undefined) !== (q.tenant === undefined), { message: "Send either email or tenant" });

/** The provider's answer at the callback: the state names the flow; the rest is checked by oauth4webapi (src/sso/id-token.ts). */
export const callbackQuery = z.looseObject({ state: z.string().min(1).max(512) });
