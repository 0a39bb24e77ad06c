/**
 * What a SCIM request asks a member to be, validated: the bodies of POST and PUT /Users
 * (a User resource) and of PATCH (a PatchOp), down to the attributes Gatehouse keeps:
 * userName, displayName, externalId and active.
 *
 * Identity providers send more than that (Okta: name, emails, locale, a password when
 * password sync is on; Entra ID: name, emails, title, addresses, the enterprise extension),
 * so an attribute Gatehouse does not keep is accepted and ignored; a value for one it keeps
 * is validated, and a bad one refuses the whole request (nothing changes). Attribute names
 * and PATCH's `op` are case-insensitive (Entra ID sends "Replace"), and `active` may be a
 * boolean or the string "True"/"False" in any case (Entra ID). A member's userName (their
 * email) is fixed once they exist: changing it is 400 mutability (docs/scim.md says why).
 */
import type { ZodType } from "zod";
import { ApiError } from "../errors";
import { emailSchema } from "../lib/email";
import { displayNameSchema } from "../lib/schemas";
import { validationFailed } from "../lib/validation";
import { type Infer, z } from "../lib/zod";
import { SCIM_SCHEMAS } from "./protocol";

/** The attributes of a member SCIM reads and writes. */
export type ScimAttributes = { userName: string; displayName: string; externalId: string | null; active: boolean };

/** `value` with its keys spelled as `names` spell them, whatever their case (SCIM's attribute names are case-insensitive). */
function canonicalKeys(names: readonly string[]) {
  const byLowerCase = new Map(names.map((name) => [name.toLowerCase(), name]));
  return (value: unknown) => {
    if (!isRecord(value)) return value;
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [byLowerCase.get(key.toLowerCase()) ?? key, v]));
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

const schemasIncluding = (urn: string) =>
  z.array(z.string()).refine((list) => list.some((s) => s.toLowerCase() === urn.toLowerCase()), `must include ${urn}`);

const activeValue = z.union([z.boolean(), z.string().regex(/^(true|false)$/i).transform((v) => v.toLowerCase() === "true")], { error: "must be true or false" });

const externalIdValue = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(256)
  .regex(/^[^\p{Cc}\p{Cf}\p{Cs}]*$/u, "must not contain control or format characters");

const nameValue = z.preprocess(
  canonicalKeys(["formatted", "givenName", "familyName"]),
  z.looseObject({ formatted: z.string().optional(), givenName: z.string().optional(), familyName: z.string().optional() }),
);

/** The display name a User resource gives: displayName, else name.formatted, else given and family name, else the userName. */
function chosenDisplayName(body: { userName: string; displayName?: string | undefined; name?: Infer<typeof nameValue> | undefined }): string {
  const parts = [body.name?.givenName, body.name?.familyName].filter((p) => p !== undefined).join(" ");
  return [body.displayName, body.name?.formatted, parts].find((v) => v !== undefined && v.trim() !== "") ?? body.userName;
}

/** POST and PUT /Users: a User resource. externalId and active are undefined when not sent. */
export const userBody = z.preprocess(
  canonicalKeys(["schemas", "userName", "externalId", "displayName", "name", "active"]),
  z
    .looseObject({
      schemas: schemasIncluding(SCIM_SCHEMAS.user),
      userName: emailSchema,
      externalId: externalIdValue.optional(),
      displayName: z.string().optional(),
      name: nameValue.optional(),
      active: activeValue.optional(),
    })
    .transform((body, ctx) => {
      const displayName = displayNameSchema.safeParse(chosenDisplayName(body));
      if (!displayName.success) {
        ctx.addIssue({ code: "custom", path: [body.displayName !== undefined ? "displayName" : "name"], message: displayName.error.issues[0]?.message ?? "is not a name" });
        return z.NEVER;
      }
      return { userName: body.userName, displayName: displayName.data, externalId: body.externalId, active: body.active };
    }),
);
export type UserBody = Infer<typeof userBody>;

const operation = z.preprocess(
  canonicalKeys(["op", "path", "value"]),
  z.looseObject({
    op: z
      .string()
      .transform((op) => op.toLowerCase())
      .pipe(z.enum(["add", "replace", "remove"], { error: 'must be "add", "replace" or "remove"' })),
    path: z.string().max(512).optional(),
    value: z.unknown().optional(),
  }),
);
type Operation = Infer<typeof operation>;

/** PATCH /Users/:id: a PatchOp (RFC 7644 §3.5.2). */
export const patchBody = z.preprocess(
  canonicalKeys(["schemas", "Operations"]),
  z.looseObject({ schemas: schemasIncluding(SCIM_SCHEMAS.patchOp), Operations: z.array(operation).min(1).max(100) }),
);

type Kept = "active" | "displayname" | "externalid" | "username";
const KEPT: readonly string[] = ["active", "displayname", "externalid", "username"] satisfies Kept[];

// attrPath or valuePath (RFC 7644 §3.10, §3.5.2): an optional schema URN, an attribute, an optional [filter], an optional .subAttribute.
const PATH = /^(?:(urn:[^\s"[\]]+):)?([A-Za-z][\w$-]*)(\[[^\]]*\])?(?:\.([A-Za-z][\w$-]*))?$/;

/** The attribute Gatehouse keeps that `path` names, or null for one it does not keep (ignored). */
function keptAttribute(path: string): Kept | null {
  const match = PATH.exec(path.trim());
  if (!match) throw new ApiError(400, "SCIM_INVALID_PATH", `"${path.slice(0, 100)}" is not an attribute path`);
  const [, urn, attribute = "", filter, subAttribute] = match;
  const core = urn === undefined || urn.toLowerCase() === SCIM_SCHEMAS.user.toLowerCase();
  const name = attribute.toLowerCase();
  return core && filter === undefined && subAttribute === undefined && KEPT.includes(name) ? (name as Kept) : null;
}

function parsedValue<T>(schema: ZodType<T>, value: unknown, at: (string | number)[]): T {
  const result = schema.safeParse(value);
  if (!result.success) throw validationFailed("json", result.error.issues.map((issue) => ({ ...issue, path: [...at, ...issue.path] })));
  return result.data;
}

function setAttribute(state: ScimAttributes, attribute: Kept | null, value: unknown, at: (string | number)[]): ScimAttributes {
  switch (attribute) {
    case "active":
      return { ...state, active: parsedValue(activeValue, value, at) };
    case "displayname":
      return { ...state, displayName: parsedValue(displayNameSchema, value, at) };
    case "externalid":
      return { ...state, externalId: parsedValue(externalIdValue, value, at) };
    case "username":
      if (parsedValue(emailSchema, value, at) !== state.userName) throw new ApiError(400, "SCIM_MUTABILITY", "A member's userName (their email) cannot be changed");
      return state;
    case null:
      return state;
  }
}

function applyOperation(state: ScimAttributes, op: Operation, index: number): ScimAttributes {
  const at = ["Operations", index, "value"];
  if (op.path === undefined) {
    if (op.op === "remove") throw new ApiError(400, "SCIM_NO_TARGET", "A remove operation needs a path");
    if (!isRecord(op.value)) throw validationFailed("json", [{ path: at, message: "must be an object of attributes when the operation has no path" }]);
    return Object.entries(op.value).reduce((s, [key, value]) => setAttribute(s, keptAttribute(key), value, [...at, key]), state);
  }
  const attribute = keptAttribute(op.path);
  if (op.op !== "remove") return setAttribute(state, attribute, op.value, at);
  if (attribute === "externalid") return { ...state, externalId: null };
  if (attribute === null) return state;
  throw new ApiError(400, "SCIM_MUTABILITY", `Gatehouse keeps ${op.path} for every member: it cannot be removed`);
}

/** What the operations, applied in order, make of `current` (RFC 7644 §3.5.2: all or nothing). */
export function applyPatch(current: ScimAttributes, operations: readonly Operation[]): ScimAttributes {
  return operations.reduce(applyOperation, current);
}
