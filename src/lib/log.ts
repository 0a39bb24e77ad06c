/**
 * What an error may say in a log line. Drizzle's query errors carry the SQL and every
 * bound value in their message (emails, addresses, sealed secrets, audit payloads), so
 * a log line names the error and its cause's message, never the query or its parameters.
 */
export function errorSummary(err: unknown): string {
  if (!(err instanceof Error)) return typeof err === "string" ? err.slice(0, 200) : "non-Error thrown";
  const cause = err.cause instanceof Error ? err.cause : null;
  // A query error's own message is "Failed query: <sql>\nparams: <values>": only its cause is safe.
  if (cause) return `${err.name}: ${cause.name}: ${cause.message}`;
  if (/^Failed query:/.test(err.message)) return err.name;
  return `${err.name}: ${err.message}`;
}
