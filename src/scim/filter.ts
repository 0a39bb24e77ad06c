/**
 * The SCIM filters Gatehouse answers (RFC 7644 §3.4.2.2), the ones identity providers send
 * to find a member before creating them: `userName eq "…"` and `externalId eq "…"`.
 * Attribute names and the operator are case-insensitive (the attribute may carry the core
 * User schema's URN); the value is a JSON string. userName is compared as emails are stored
 * (normalised, so case-insensitively, as its caseExact: false says); externalId exactly.
 * Anything else is 400 invalidFilter: a filter Gatehouse cannot apply is never dropped
 * (that would answer every member as a match).
 */
import { type SQL, eq } from "drizzle-orm";
import { users } from "../db/schema";
import { ApiError } from "../errors";
import { normalizeEmail } from "../lib/email";
import { SCIM_SCHEMAS } from "./protocol";

const FILTER = /^\s*((?:urn:[^\s"]+:)?[A-Za-z][\w$-]*)\s+eq\s+("(?:[^"\\]|\\.)*")\s*$/i;
const CORE_URN = `${SCIM_SCHEMAS.user}:`.toLowerCase();

const invalidFilter = (detail: string) => new ApiError(400, "SCIM_INVALID_FILTER", detail);

/** The condition `filter` stands for. */
export function filterCondition(filter: string): SQL {
  const match = FILTER.exec(filter);
  if (!match) throw invalidFilter('Gatehouse supports one filter: userName eq "…" or externalId eq "…"');
  const attribute = (match[1] ?? "").toLowerCase().replace(CORE_URN, "");
  let value: unknown;
  try {
    value = JSON.parse(match[2] ?? "");
  } catch {
    throw invalidFilter("The filter's value is not a valid string");
  }
  if (typeof value !== "string") throw invalidFilter("The filter's value is not a valid string");
  if (attribute === "username") return eq(users.email, normalizeEmail(value));
  if (attribute === "externalid") return eq(users.scimExternalId, value);
  throw invalidFilter(`Gatehouse filters on userName or externalId, not ${match[1]}`);
}
