/** The operator API's secret, as parseConfig (src/config.ts) validates it at startup. */

/** OPERATOR_TOKEN must look like a random key (e.g. `openssl rand -base64 32`), not a word. */
export const MIN_OPERATOR_TOKEN_LENGTH = 32;

export class OperatorTokenError extends Error {
  override readonly name = "OperatorTokenError";
}

/** The configured token, or null when unset (parseConfig calls this at startup). */
export function operatorTokenConfig(env: { OPERATOR_TOKEN?: string }): string | null {
  const token = env.OPERATOR_TOKEN;
  if (!token) return null;
  if (token.length < MIN_OPERATOR_TOKEN_LENGTH || /\s/.test(token)) {
    throw new OperatorTokenError(`OPERATOR_TOKEN must be at least ${MIN_OPERATOR_TOKEN_LENGTH} characters with no spaces (e.g. openssl rand -base64 32)`);
  }
  return token;
}
