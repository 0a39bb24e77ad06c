import { SCIM_MEDIA_TYPE, SCIM_SCHEMAS } from "../src/scim/protocol";
import { type CallOptions, type Harness, type SeededTenant, type SeededUser, seedTenant } from "./helpers";
import { auditRowsOf } from "./audit-store";

export const SCIM = "/_gatehouse/scim/v2";
export const USER_URN = SCIM_SCHEMAS.user;
export const PATCH_URN = SCIM_SCHEMAS.patchOp;

export type ScimError = { schemas: string[]; status: string; scimType?: string; detail: string };
export type ScimUser = {
  schemas: string[];
  id: string;
  externalId?: string;
  userName: string;
  displayName: string;
  active: boolean;
  emails: { value: string; primary: boolean }[];
  meta: { resourceType: string; created: string; lastModified: string; location: string };
};
export type ScimList = { schemas: string[]; totalResults: number; startIndex: number; itemsPerPage: number; Resources: ScimUser[] };

/** An owner's new SCIM token for their tenant (signed in, stepped up for SSO_CHANGE). */
export async function createScimToken(h: Harness, owner: SeededUser, cookie?: string): Promise<string> {
  const session = cookie ?? (await h.session(owner)).cookie;
  await h.stepUp(session, "SSO_CHANGE", owner);
  const res = await h.call<{ token: string }>("/api/tenant/scim-token", { cookie: session, body: {} });
  if (res.status !== 201) throw new Error(`SCIM token not created: ${res.status} ${JSON.stringify(res.body)}`);
  // The step-up spent the current TOTP step: the owner's next sign-in needs the next one.
  h.clock.advanceSeconds(30);
  return res.body.token;
}

/** A SCIM call with `token` as bearer (none when null), a body sent as application/scim+json. */
export function scim<T = ScimError>(h: Harness, token: string | null, path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const { body, ...rest } = options;
  if (body !== undefined) headers["content-type"] = SCIM_MEDIA_TYPE;
  return h.call<T>(`${SCIM}${path}`, { ...rest, headers, ...(body !== undefined ? { rawBody: JSON.stringify(body), method: options.method ?? "POST" } : {}) });
}

/** RFC 7644 §3.3's example body (the service provider's own host, and an email as userName). */
export function rfcUser(userName: string, extra: Record<string, unknown> = {}) {
  return { schemas: [USER_URN], userName, externalId: "bjensen", name: { formatted: "Ms. Barbara J Jensen III", familyName: "Jensen", givenName: "Barbara" }, ...extra };
}

/** The tenant's audit rows for one action, oldest first. */
export function auditRows(tenantId: string, action: string) {
  return auditRowsOf(tenantId, action);
}

/** A tenant with a SCIM token of its owner's. */
export async function scimTenant(h: Harness, label = "scim"): Promise<SeededTenant & { token: string }> {
  const t = await seedTenant(label);
  return { ...t, token: await createScimToken(h, t.owner) };
}
