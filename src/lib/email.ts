/**
 * Email addresses as Gatehouse stores and looks them up: trimmed and lower-cased, on
 * every write and every lookup (sign-in, invitations, the operator's first owner). The
 * schema refuses any other form (CHECK users_email_normalised), so a mixed-case row can
 * no longer exist and never sign in.
 */
import { z } from "./zod";

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A client-sent email, validated and normalised by normalizeEmail. */
export const emailSchema = z.string().max(320).transform(normalizeEmail).pipe(z.string().email().max(254));
