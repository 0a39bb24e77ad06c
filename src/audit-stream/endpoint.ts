/**
 * Where a tenant's audit stream may post: an absolute https:// URL (http:// only on this
 * machine, localhost or 127.0.0.1, which `npm start` and the tests use), without
 * credentials or a fragment. The token travels in its header, never in the URL.
 */
import { isLoopbackHost } from "../lib/origin";

export const MAX_ENDPOINT_LENGTH = 2048;

const CREDENTIAL_PARAM = /token|key|secret|passw|auth|sig/i;

/** Why `text` is not an endpoint a stream may post to, or null when it is one. */
export function endpointProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "must be an absolute https:// URL";
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
    return "must use https:// (http:// only for localhost or 127.0.0.1)";
  }
  if (url.username !== "" || url.password !== "") return "must not carry credentials: the token goes in its header";
  if (url.hash !== "" || text.includes("#")) return "must have no fragment";
  // A URL is shown in the panel and written in audit rows: a credential in it would be too.
  if ([...url.searchParams.keys()].some((name) => CREDENTIAL_PARAM.test(name))) return "must not carry a credential in its query: the token goes in its header";
  return null;
}
