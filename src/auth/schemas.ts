import { emailSchema } from "../lib/email";
import { z } from "../lib/zod";
import { authenticationResponseSchema } from "../passkeys/ceremony";

export const loginSchema = z
  .strictObject({
    email: emailSchema,
    // NIST SP 800-63B-4 §3.1.1.2: accept at least 64 characters; cap to bound PBKDF2 input.
    password: z.string().min(1).max(256),
    totpCode: z.string().trim().max(10).optional(),
    recoveryCode: z.string().trim().max(64).optional(),
    // Where the product sent the browser from (gateway mode); only ever answered sanitised.
    returnTo: z.string().max(4096).optional(),
  })
  .refine((b) => b.totpCode === undefined || b.recoveryCode === undefined, {
    message: "Send either totpCode or recoveryCode, not both",
  });

export const passkeySignInSchema = z.strictObject({
  challengeId: z.string().regex(/^wac_[A-Za-z0-9_-]{1,64}$/, "must be a challenge id"),
  response: authenticationResponseSchema,
  returnTo: z.string().max(4096).optional(),
});
