/**
 * SCIM's discovery endpoints (RFC 7644 §4): what Gatehouse's SCIM service does
 * (ServiceProviderConfig), its one resource type (User) and that type's schema, as far as
 * Gatehouse keeps it (RFC 7643 §7: the attributes of ./attributes.ts). Static documents;
 * their locations start with PUBLIC_ORIGIN like every resource's.
 */
import type { Bindings } from "../env";
import { MAX_PAGE_SIZE } from "./paging";
import { SCIM_SCHEMAS, scimBaseUrl } from "./protocol";

export function serviceProviderConfig(env: Bindings) {
  return {
    schemas: [SCIM_SCHEMAS.serviceProviderConfig],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_PAGE_SIZE },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      { type: "oauthbearertoken", name: "Bearer token", description: "The tenant's SCIM token, created by an owner in Gatehouse", primary: true },
    ],
    meta: { resourceType: "ServiceProviderConfig", location: `${scimBaseUrl(env)}/ServiceProviderConfig` },
  };
}

export function userResourceType(env: Bindings) {
  return {
    schemas: [SCIM_SCHEMAS.resourceType],
    id: "User",
    name: "User",
    endpoint: "/Users",
    description: "A member of the tenant",
    schema: SCIM_SCHEMAS.user,
    meta: { resourceType: "ResourceType", location: `${scimBaseUrl(env)}/ResourceTypes/User` },
  };
}

const attribute = (name: string, type: "string" | "boolean" | "complex", more: Record<string, unknown>) => ({
  name,
  type,
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: "readWrite",
  returned: "default",
  uniqueness: "none",
  ...more,
});

export function userSchema(env: Bindings) {
  return {
    schemas: [SCIM_SCHEMAS.schema],
    id: SCIM_SCHEMAS.user,
    name: "User",
    description: "A member of the tenant, as Gatehouse keeps one",
    attributes: [
      attribute("userName", "string", { required: true, mutability: "immutable", uniqueness: "server", description: "The member's email, normalised (trimmed, lower-case): fixed once they exist" }),
      attribute("name", "complex", {
        description: "Read as the display name when displayName is not sent; answered as formatted",
        subAttributes: [attribute("formatted", "string", {}), attribute("givenName", "string", { returned: "never" }), attribute("familyName", "string", { returned: "never" })],
      }),
      attribute("displayName", "string", { description: "The name Gatehouse shows, 1 to 100 characters" }),
      attribute("active", "boolean", { description: "false disables the member and ends every session they have" }),
      {
        ...attribute("emails", "complex", { mutability: "readOnly", description: "The userName, as the member's one work email" }),
        multiValued: true,
        subAttributes: [attribute("value", "string", { mutability: "readOnly" }), attribute("type", "string", { mutability: "readOnly" }), attribute("primary", "boolean", { mutability: "readOnly" })],
      },
    ],
    meta: { resourceType: "Schema", location: `${scimBaseUrl(env)}/Schemas/${SCIM_SCHEMAS.user}` },
  };
}

/** A ListResponse of every item (the discovery lists are never paged). */
export function listOf(resources: unknown[]) {
  return { schemas: [SCIM_SCHEMAS.listResponse], totalResults: resources.length, startIndex: 1, itemsPerPage: resources.length, Resources: resources };
}
