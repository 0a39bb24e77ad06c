/**
 * The SCIM 2.0 service (RFC 7644) at `<GATEHOUSE_PATH>/scim/v2`, for the tenant's identity
 * provider: /Users (list with a filter and paging, create, read, replace, patch, delete)
 * and the discovery endpoints. docs/scim.md is the operator's and the provider's guide.
 *
 * Threat model: outside the panel API's session, CSRF and enrolment checks on purpose:
 * the bearer token is the only credential (./token.ts), so a session cookie gets the same
 * 401 as nothing, and a cross-site form cannot act (it cannot send the header). Every route
 * is behind the token, discovery included; everything a request reads or changes is of the
 * token's tenant (another tenant's member is 404, like a removed one). Each change is
 * audited() (a FAIL row for its refusals) and commits with its row; other refusals of an
 * authenticated request are written as REQUEST_REFUSED in the token's tenant. Every answer,
 * error or not, is SCIM's JSON with the API's own headers (no caching, no sniffing).
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { audited } from "../audit/middleware";
import { type RefusedWho, recordRefusals } from "../audit/refusal-recorder";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { ownAnswerHeaders } from "../lib/own-answer-headers";
import { userIdParam } from "../lib/schemas";
import { validate } from "../lib/validation";
import { z } from "../lib/zod";
import { applyPatch, patchBody, userBody } from "./attributes";
import { listOf, serviceProviderConfig, userResourceType, userSchema } from "./discovery";
import { filterCondition } from "./filter";
import { listQuery } from "./paging";
import { SCIM_SCHEMAS, scimErrorAnswer, scimJson } from "./protocol";
import { requireScimToken, scimTokenOf } from "./token";
import { type ScimMember, findScimMember, listScimMembers, toScimUser } from "./user-resource";
import { tenantChain } from "../audit/read";
import { createScimMember, removeScimMember, scimAttributesOf, updateScimMember } from "./users";
import { answers } from "../openapi/notes";

const MAX_BODY_BYTES = 64 * 1024;

/** A SCIM refusal goes to the token's tenant's log, never to a session cookie's. */
const refusedByToken: RefusedWho = async (c) => {
  const agent = c.get("auditActor");
  return agent ? { tenantId: agent.tenantId, userId: null } : null;
};

const memberNotFound = () => new ApiError(404, "USER_NOT_FOUND", "No such member in this tenant");

/** The tenant's current member `id` names, or 404. */
async function memberOr404(c: Context<AppEnv>, id: string): Promise<ScimMember> {
  const { tenantId } = scimTokenOf(c);
  const found = await findScimMember(c.var.db, tenantChain(c.env, tenantId), tenantId, id);
  if (!found) throw memberNotFound();
  return found;
}

/** The member's resource as it is now (after a change: read back, with its new lastModified). */
async function answerMember(c: Context<AppEnv>, id: string, status: 200 | 201 = 200): Promise<Response> {
  return scimJson(c, toScimUser(c.env, await memberOr404(c, id)), status);
}

const schemaIdParam = z.strictObject({ id: z.string().max(200) });

export const scimRoutes = new Hono<AppEnv>()
  .use(ownAnswerHeaders())
  .use(recordRefusals(refusedByToken))
  .use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, "PAYLOAD_TOO_LARGE", `Request bodies are limited to ${MAX_BODY_BYTES} bytes`);
      },
    }),
  )
  .use(requireScimToken())
  .get("/ServiceProviderConfig", (c) => scimJson(c, serviceProviderConfig(c.env)))
  .get("/ResourceTypes", (c) => scimJson(c, listOf([userResourceType(c.env)])))
  .get("/ResourceTypes/:id", validate("param", schemaIdParam), answers("NOT_FOUND"), (c) => {
    if (c.req.valid("param").id !== "User") throw new ApiError(404, "NOT_FOUND", "No such resource type");
    return scimJson(c, userResourceType(c.env));
  })
  .get("/Schemas", (c) => scimJson(c, listOf([userSchema(c.env)])))
  .get("/Schemas/:id", validate("param", schemaIdParam), answers("NOT_FOUND"), (c) => {
    if (c.req.valid("param").id.toLowerCase() !== SCIM_SCHEMAS.user.toLowerCase()) throw new ApiError(404, "NOT_FOUND", "No such schema");
    return scimJson(c, userSchema(c.env));
  })
  .get("/Users", validate("query", listQuery), answers("SCIM_INVALID_FILTER"), async (c) => {
    const { filter, startIndex, count } = c.req.valid("query");
    const where = filter === undefined ? undefined : filterCondition(filter);
    const { tenantId } = scimTokenOf(c);
    const { total, members } = await listScimMembers(c.var.db, tenantChain(c.env, tenantId), tenantId, where, { startIndex, count });
    return scimJson(c, {
      schemas: [SCIM_SCHEMAS.listResponse],
      totalResults: total,
      startIndex,
      itemsPerPage: members.length,
      Resources: members.map((m) => toScimUser(c.env, m)),
    });
  })
  .post("/Users", audited("SCIM_USER_CREATED", { targetType: "user" }), validate("json", userBody), answers("USER_EXISTS"), async (c) => {
    const body = c.req.valid("json");
    const id = await createScimMember(c, scimTokenOf(c).tenantId, { ...body, externalId: body.externalId ?? null, active: body.active ?? true });
    return answerMember(c, id, 201);
  })
  .get("/Users/:id", validate("param", userIdParam), answers("USER_NOT_FOUND"), async (c) => answerMember(c, c.req.valid("param").id))
  .put("/Users/:id", audited("SCIM_USER_UPDATED", { targetType: "user", targetParam: "id" }), validate("param", userIdParam), validate("json", userBody), answers("USER_NOT_FOUND", "USER_EXISTS", "SCIM_MUTABILITY", "LAST_OWNER", "IMPERSONATION_CONFLICT"), async (c) => {
    const { user } = await memberOr404(c, c.req.valid("param").id);
    const body = c.req.valid("json");
    // What PUT does not send of externalId and active stays as it is.
    const current = scimAttributesOf(user);
    await updateScimMember(c, user, { ...body, externalId: body.externalId ?? current.externalId, active: body.active ?? current.active });
    return answerMember(c, user.id);
  })
  .patch("/Users/:id", audited("SCIM_USER_UPDATED", { targetType: "user", targetParam: "id" }), validate("param", userIdParam), validate("json", patchBody), answers("USER_NOT_FOUND", "USER_EXISTS", "SCIM_MUTABILITY", "SCIM_INVALID_PATH", "SCIM_NO_TARGET", "LAST_OWNER", "IMPERSONATION_CONFLICT"), async (c) => {
    const { user } = await memberOr404(c, c.req.valid("param").id);
    await updateScimMember(c, user, applyPatch(scimAttributesOf(user), c.req.valid("json").Operations));
    return answerMember(c, user.id);
  })
  .delete("/Users/:id", audited("USER_REMOVED", { targetType: "user", targetParam: "id" }), validate("param", userIdParam), answers("USER_NOT_FOUND", "LAST_OWNER", "IMPERSONATION_CONFLICT"), async (c) => {
    const { user } = await memberOr404(c, c.req.valid("param").id);
    await removeScimMember(c, user);
    return c.body(null, 204);
  })
  .all("*", () => {
    throw new ApiError(404, "NOT_FOUND", "No such SCIM endpoint");
  });

scimRoutes.onError(scimErrorAnswer);
