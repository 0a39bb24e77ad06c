/**
 * Validation of the product's audit events (recorded through src/rpc), one owner for
 * the RPC entrypoint and the audit search: the action is namespaced under `app.`, the
 * target type is a short identifier, and every JSON field is bounded.
 */
import { record, string, unknown } from "zod";
import {
  PRODUCT_AUDIT_ACTION_MAX_LENGTH,
  PRODUCT_AUDIT_ACTION_PATTERN,
  PRODUCT_TARGET_TYPE_PATTERN,
  type ProductAuditAction,
  type ProductTargetType,
} from "./actions";

/** Each of before, after and metadata, as UTF-8 JSON. */
export const MAX_PRODUCT_JSON_BYTES = 8 * 1024;

export const productAuditActionSchema = string()
  .max(PRODUCT_AUDIT_ACTION_MAX_LENGTH)
  .regex(PRODUCT_AUDIT_ACTION_PATTERN, "must be app. followed by lower-case dotted segments, e.g. app.note.deleted")
  .transform((v) => v as ProductAuditAction);

export const productTargetTypeSchema = string()
  .regex(PRODUCT_TARGET_TYPE_PATTERN, "must be 1-32 of a-z, 0-9 and _, starting with a letter")
  .transform((v) => v as ProductTargetType);

function jsonBytes(value: unknown): number {
  try {
    return new TextEncoder().encode(JSON.stringify(value) ?? "").byteLength;
  } catch {
    return Number.POSITIVE_INFINITY; // not JSON at all (a cycle, a BigInt)
  }
}

const bounded = `must be JSON of at most ${MAX_PRODUCT_JSON_BYTES} bytes`;

/** Any JSON value of at most 8 KiB. */
export const boundedJsonSchema = unknown().refine((v) => jsonBytes(v) <= MAX_PRODUCT_JSON_BYTES, bounded);

/** A JSON object of at most 8 KiB. */
export const boundedJsonObjectSchema = record(string(), unknown()).refine((v) => jsonBytes(v) <= MAX_PRODUCT_JSON_BYTES, bounded);
