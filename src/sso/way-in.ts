/**
 * Single sign-on as a way in to sign-in's steps (src/auth/sign-in.ts): "who is this" is
 * the member the validated ID token names (./identity.ts), and the credential, already
 * checked (./id-token.ts), proves what the provider says it did (its registered `amr`
 * values) plus "fed". The IP rules apply before the sign-in counts as checked: the
 * provider's answer was spent to get here, and a blocked address learns nothing new.
 */
import type { Context } from "hono";
import { deviceCookieKeys, readDevice } from "../auth/device";
import type { WayIn } from "../auth/sign-in";
import type { SignInSubject } from "../auth/sign-in-subject";
import type { AppEnv } from "../env";
import type { ProviderIdentity } from "./id-token";
import { type SsoMember, federatedAmr } from "./identity";
import type { Connection } from "./store";

/** The sign-in subject of a provider's member: always a member (existing, or created in the session's batch). */
export const ssoSubject = (member: SsoMember): SignInSubject => ({
  email: member.email,
  user: member.user,
  tenantId: member.user.tenantId,
  userId: member.user.id,
  passwordHash: member.user.passwordHash,
});

export async function ssoWayIn(c: Context<AppEnv>, connection: Connection, identity: ProviderIdentity, member: SsoMember): Promise<WayIn> {
  const keys = await deviceCookieKeys(c.env);
  return {
    kind: "sso",
    email: member.email,
    device: { keys, id: await readDevice(c, keys, member.email) },
    checkCredential: async () => ({
      ok: true,
      amr: federatedAmr(identity.amr),
      federation: { connectionId: connection.id, subject: identity.sub, sid: identity.sid, changes: member.changes, provisioned: member.provisioned },
    }),
    addressFirst: true,
  };
}
