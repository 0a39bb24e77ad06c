/**
 * A user's own passkeys: add (options, then the authenticator's answer), list, rename,
 * remove. Mounted at /api/security/mfa/passkeys, behind requireSession.
 *
 * Threat model: a stolen session adding the attacker's passkey, which would then pass
 * every step-up (starting a registration needs a fresh step-up: MFA_ENROLL, a password
 * proof, for a first factor; MFA_CHANGE, a second factor, when the user has one; and only
 * the session that asked for the options may finish); a registration answer made for
 * another origin or RP ID, without user verification, or replayed (./ceremony.ts,
 * ./challenges.ts); a passkey of another user or tenant named by id (404); removing the
 * factor a policy requires (src/stepup/factor-policy.ts).
 */
import { and, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { audited } from "../audit/middleware";
import { commitWithAudit } from "../audit/service";
import { assertInBatch, isInvariantViolation } from "../db/invariants";
import { type User, passkeys, recoveryCodes } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { forbidWhileImpersonating } from "../impersonation/middleware";
import { randomId } from "../lib/crypto";
import { validate } from "../lib/validation";
import { z } from "../lib/zod";
import { withPropagation } from "../propagation";
import { loadOwnUser } from "../sessions/own-user";
import { refreshCachedSessions } from "../sessions/service";
import { assertMayRemoveFactor } from "../stepup/factor-policy";
import { requireStepUp } from "../stepup/middleware";
import { hasSecondFactor } from "../stepup/policy";
import { newRecoveryCodes } from "../stepup/recovery-codes";
import { PASSKEY_REFUSALS, type PasskeyRefusal, checkRegistration, passkeyRefusedError, challengeOf, registrationResponseSchema } from "./ceremony";
import { claimChallenge } from "./challenges";
import { registrationOptions } from "./options";
import { relyingParty } from "./relying-party";
import { MAX_PASSKEYS_PER_USER, findOwnPasskey, listPasskeys, passkeyCountStatement, toPasskeyView } from "./store";
import { answers } from "../openapi/notes";

const nameSchema = z.string().trim().min(1).max(64);
const addBody = z.strictObject({ response: registrationResponseSchema, name: nameSchema.optional() });
const renameBody = z.strictObject({ name: nameSchema });
const idParam = z.strictObject({ id: z.string().regex(/^pk_[A-Za-z0-9_-]{1,64}$/, "must be a passkey id") });
const optionsBody = z.strictObject({});

const FORBIDDEN_WHILE_IMPERSONATING = "Changing two-factor settings";


function assertRoomForOne(user: User) {
  if (user.passkeyCount >= MAX_PASSKEYS_PER_USER) throw new ApiError(409, "PASSKEY_LIMIT_REACHED", `You have ${MAX_PASSKEYS_PER_USER} passkeys; remove one first`);
}

/** 400 with the refusal's code: the registration's answer was not accepted (nothing was stored). */
const registrationRefused = (code: PasskeyRefusal, user: User) => passkeyRefusedError(code, "registration", { targetType: "user", targetId: user.id }, "The passkey could not be added. ");

export const passkeyRoutes = new Hono<AppEnv>()
  .get("/", async (c) => c.json({ passkeys: (await listPasskeys(c.var.db, c.get("user").id)).map(toPasskeyView) }))
  .post(
    "/options",
    audited("MFA_ENROLLMENT_STARTED", { targetType: "user" }),
    validate("json", optionsBody),
    forbidWhileImpersonating(FORBIDDEN_WHILE_IMPERSONATING),
    requireStepUp((_c, fresh) => (hasSecondFactor(fresh.user) ? "MFA_CHANGE" : "MFA_ENROLL")),
    answers("PASSKEY_LIMIT_REACHED"),
    async (c) => {
      const user = await loadOwnUser(c);
      assertRoomForOne(user);
      const options = await registrationOptions(c, user, c.get("session").id);
      await commitWithAudit(c, [], { action: "MFA_ENROLLMENT_STARTED", outcome: "SUCCESS", targetType: "user", targetId: user.id, metadata: { factor: "passkey", replacing: false } });
      return c.json({ options });
    },
  )
  .post("/", audited("PASSKEY_ADDED", { targetType: "user" }), validate("json", addBody), forbidWhileImpersonating(FORBIDDEN_WHILE_IMPERSONATING), answers("PASSKEY_ALREADY_REGISTERED", "PASSKEY_LIMIT_REACHED", ...PASSKEY_REFUSALS), async (c) => {
    const body = c.req.valid("json");
    const user = await loadOwnUser(c);
    assertRoomForOne(user);
    const clientData = challengeOf(body.response.response.clientDataJSON);
    if (!clientData) throw registrationRefused("PASSKEY_RESPONSE_MALFORMED", user);
    // Only the session that asked for the options finishes: the challenge is bound to it.
    const challengeRefusal = await claimChallenge(c.var.db, clientData.challenge, { kind: "registration", sessionId: c.get("session").id, userId: user.id }, c.get("now"));
    if (challengeRefusal) throw registrationRefused(challengeRefusal, user);
    const checked = await checkRegistration(body.response, clientData, relyingParty(c.env));
    if (!checked.ok) throw registrationRefused(checked.refusal, user);

    const db = c.var.db;
    const now = c.get("now");
    const id = randomId("pk_");
    const name = body.name ?? (checked.credential.backedUp ? "Synced passkey" : "Passkey");
    const first = !hasSecondFactor(user);
    const recovery = first ? await newRecoveryCodes(db, user.tenantId, user.id, now) : null;
    try {
      await commitWithAudit(
        c,
        [
          db.insert(passkeys).values({ id, tenantId: user.tenantId, userId: user.id, ...checked.credential, name, createdAt: now }),
          passkeyCountStatement(db, user.id),
          // Two requests finishing at once: neither takes the user past the limit.
          ...assertInBatch(db, user.tenantId, "PASSKEY_LIMIT", sql`(SELECT passkey_count FROM users WHERE id = ${user.id}) <= ${MAX_PASSKEYS_PER_USER}`),
          ...(recovery?.statements ?? []),
        ],
        { action: "PASSKEY_ADDED", outcome: "SUCCESS", targetType: "user", targetId: user.id, metadata: { passkeyId: id, credentialId: checked.credential.credentialId, name, backedUp: checked.credential.backedUp } },
      );
    } catch (err) {
      if (isInvariantViolation(err)) throw new ApiError(409, "PASSKEY_LIMIT_REACHED", `You have ${MAX_PASSKEYS_PER_USER} passkeys; remove one first`);
      if (err instanceof Error && /UNIQUE constraint failed: passkeys\.credential_id/.test(err.message)) {
        throw new ApiError(409, "PASSKEY_ALREADY_REGISTERED", "This passkey is already registered", { audit: { targetType: "user", targetId: user.id, failureReason: "PASSKEY_ALREADY_REGISTERED" } });
      }
      throw err;
    }
    const propagation = await refreshCachedSessions(c, user.id);
    const row = await findOwnPasskey(db, user.id, id);
    return c.json({ passkey: toPasskeyView(row), ...(recovery ? { recoveryCodes: recovery.codes } : {}), ...withPropagation(propagation) }, 201);
  })
  .patch("/:id", audited("PASSKEY_RENAMED", { targetType: "user" }), validate("param", idParam), validate("json", renameBody), forbidWhileImpersonating(FORBIDDEN_WHILE_IMPERSONATING), answers("PASSKEY_NOT_FOUND"), async (c) => {
    const user = c.get("user");
    const passkey = await findOwnPasskey(c.var.db, user.id, c.req.valid("param").id);
    const { name } = c.req.valid("json");
    const db = c.var.db;
    await commitWithAudit(c, [db.update(passkeys).set({ name }).where(and(eq(passkeys.id, passkey.id), eq(passkeys.userId, user.id)))], {
      action: "PASSKEY_RENAMED",
      outcome: "SUCCESS",
      targetType: "user",
      targetId: user.id,
      before: { name: passkey.name },
      after: { name },
      metadata: { passkeyId: passkey.id, credentialId: passkey.credentialId },
    });
    return c.json({ passkey: toPasskeyView({ ...passkey, name }) });
  })
  .delete("/:id", audited("PASSKEY_REMOVED", { targetType: "user" }), validate("param", idParam), forbidWhileImpersonating(FORBIDDEN_WHILE_IMPERSONATING), requireStepUp("MFA_CHANGE"), answers("PASSKEY_NOT_FOUND", "LAST_FACTOR_REQUIRED"), async (c) => {
    const user = await loadOwnUser(c);
    const passkey = await findOwnPasskey(c.var.db, user.id, c.req.valid("param").id);
    await assertMayRemoveFactor(c, user, "passkey");
    const db = c.var.db;
    const last = !user.totpEnabled && user.passkeyCount <= 1;
    await commitWithAudit(
      c,
      [
        db.delete(passkeys).where(and(eq(passkeys.id, passkey.id), eq(passkeys.userId, user.id))),
        passkeyCountStatement(db, user.id),
        // Recovery codes stand in for any second factor: they go with the last one.
        ...(last ? [db.delete(recoveryCodes).where(eq(recoveryCodes.userId, user.id))] : []),
      ],
      { action: "PASSKEY_REMOVED", outcome: "SUCCESS", targetType: "user", targetId: user.id, metadata: { passkeyId: passkey.id, credentialId: passkey.credentialId, name: passkey.name } },
    );
    const propagation = await refreshCachedSessions(c, user.id);
    return c.json({ success: true, ...withPropagation(propagation) });
  });
