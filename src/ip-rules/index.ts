/**
 * Per-tenant IP allow/deny rules: the feature's public surface.
 *
 * Threat model: a tenant restricts where its members may use their sessions from
 * (office ranges, a VPN egress), so a stolen cookie or password is worth less from
 * anywhere else, and known-bad ranges can be shut out. The attacker controls every
 * request header except CF-Connecting-IP (set by Cloudflare's edge), so only that is
 * read. An outage of KV or D1 must not disable the rules (fail closed, 503), and an
 * admin must not be able to lock themselves out by mistake (409 WOULD_LOCK_OUT).
 * Out of scope: an attacker who controls an allowed address (rules narrow where a
 * credential works; they are not authentication), and requests not tied to a tenant.
 *
 * Layout: cidr.ts (strict parsing with ipaddr.js), ruleset.ts (pure compile/decide),
 * service.ts (guards, denial audit), middleware.ts (enforcement), routes.ts (API),
 * schemas.ts (input). The compiled set is read from the tenant's edge document
 * (src/edge-document/rules-and-policy.ts).
 */
export { assertIpAllowed, enforceIpRules } from "./middleware";
export { ipRuleRoutes } from "./routes";
