import { z } from "../lib/zod";
import { ROLES } from "../db/schema";
import { PERMISSIONS } from "../lib/permissions";

export const roleBody = z.strictObject({ role: z.enum(ROLES) });

export const permissionsBody = z
  .strictObject({
    grant: z.array(z.enum(PERMISSIONS)).max(PERMISSIONS.length).default([]),
    revoke: z.array(z.enum(PERMISSIONS)).max(PERMISSIONS.length).default([]),
  })
  .refine((b) => b.grant.length + b.revoke.length > 0, { message: "Nothing to change: give grant or revoke" })
  .refine((b) => !b.grant.some((p) => b.revoke.includes(p)), { message: "A permission cannot be granted and revoked at once" });
