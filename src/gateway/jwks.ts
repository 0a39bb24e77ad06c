import type { Context } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { AssertionKeysError, jwksResponse, loadAssertionKeys } from "./assertion-keys";

/**
 * GET <GATEHOUSE_PATH>/.well-known/jwks.json: the public keys an origin verifies the
 * identity assertion with (every key of the set, so a token signed by the previous key
 * verifies while it is still published). Without a valid key set: 503, as for signing.
 */
export async function publishedKeys(c: Context<AppEnv>): Promise<Response> {
  try {
    return jwksResponse((await loadAssertionKeys(c.env.ASSERTION_SIGNING_KEYS)).publicJwks);
  } catch (err) {
    if (!(err instanceof AssertionKeysError)) throw err;
    throw new ApiError(503, "ASSERTION_KEYS_UNAVAILABLE", "No assertion signing keys are configured");
  }
}
