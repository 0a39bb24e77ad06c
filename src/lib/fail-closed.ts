import { ApiError } from "../errors";
import { errorSummary, log } from "./log";

/**
 * Runs a read or write that a security decision rests on: if the store fails, the answer
 * is 503 AUTH_UNAVAILABLE (logged with `what`), never a pass and never a 500. An ApiError
 * the work throws on purpose passes through unchanged.
 */
export async function failClosed<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    log.error(`${what} unavailable`, { error: errorSummary(err) });
    throw new ApiError(503, "AUTH_UNAVAILABLE", "Verification is temporarily unavailable; try again");
  }
}
