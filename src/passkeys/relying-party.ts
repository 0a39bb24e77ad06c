/**
 * The WebAuthn relying party: the configured public origin (PUBLIC_ORIGIN, validated at
 * startup by src/config.ts), its hostname as the RP ID. Never the request's Host: a
 * credential is bound to the RP ID it was made for, so an RP ID taken from a forged Host
 * would let another site's page ask for this site's credentials, or mint ones that work
 * only there.
 */
import { parseConfig } from "../config";
import type { Bindings } from "../env";

export type RelyingParty = { id: string; name: string; origin: string };

export function relyingParty(env: Bindings): RelyingParty {
  const { publicOrigin } = parseConfig(env);
  const host = new URL(publicOrigin).hostname;
  return { id: host, name: host, origin: publicOrigin };
}
