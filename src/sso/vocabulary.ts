/**
 * Single sign-on's vocabulary, import-free so the schema and the panel can use it.
 * A connection's protocol: OIDC today; a second (SAML) joins this list with its own columns.
 */
export const SSO_PROTOCOLS = ["oidc"] as const;
export type SsoProtocol = (typeof SSO_PROTOCOLS)[number];

/** The roles a member created by SSO sign-in (JIT) or by SCIM may get: never owner. */
export const SSO_PROVISIONED_ROLES = ["member", "admin"] as const;
export type SsoProvisionedRole = (typeof SSO_PROVISIONED_ROLES)[number];
