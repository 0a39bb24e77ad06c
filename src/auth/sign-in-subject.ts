/**
 * Who a sign-in names: the first step of sign-in.
 *
 * Threat model: telling which emails have an account (user enumeration), by the answer
 * or by how long it takes. An email that names no current member (never invited, or
 * removed) gets a stand-in, NOBODY, that the steps after this one treat exactly like a
 * member until the password is found right: its password is checked against a hash of
 * the same cost (DUMMY_PASSWORD_HASH), its tenant's IP rules are read the way any
 * tenant's are (it has none), and its refusals run the same D1 statements, which write a
 * row only for a member (./sign-in-refusal.ts). So no step before that point branches on
 * whether the email is known, and none does more work for one than for the other.
 */
import type { Context } from "hono";
import type { User } from "../db/schema";
import type { AppEnv } from "../env";
import { DUMMY_PASSWORD_HASH } from "../lib/password";
import { findCurrentUserByEmail } from "../users/service";
import { signInUnavailable } from "./throttle";

/** A tenant and member id nothing has: generated ids are their prefix and 24 characters (randomId). */
export const NOBODY = { tenantId: "ten_nobody", userId: "usr_nobody" } as const;

export type SignInSubject = {
  email: string;
  /** The current member the email names, or null. */
  user: User | null;
  /** The member's tenant and id, or NOBODY's: whose rules and log the attempt meets. */
  tenantId: string;
  userId: string;
  /** What the password is checked against: the member's hash, or DUMMY_PASSWORD_HASH. */
  passwordHash: string;
};

export async function identifySignIn(c: Context<AppEnv>, email: string): Promise<SignInSubject> {
  const user = await findCurrentUserByEmail(c.var.db, email).catch((err: unknown) => {
    throw signInUnavailable(c, "sign-in user lookup", err);
  });
  if (!user) return { email, user: null, ...NOBODY, passwordHash: DUMMY_PASSWORD_HASH };
  return { email, user, tenantId: user.tenantId, userId: user.id, passwordHash: user.passwordHash };
}
