import { ApiError } from "../api/client";

function minutes(seconds: number): string {
  const m = Math.ceil(seconds / 60);
  return m <= 1 ? "a minute" : `${m} minutes`;
}

/** Words for people. The API's own messages are already human; a few codes deserve more. */
export function describeError(err: unknown): string {
  if (!(err instanceof ApiError)) return "Something went wrong. Try again.";
  switch (err.code) {
    case "TOO_MANY_ATTEMPTS": {
      const s = Number(err.details.retryAfterSeconds);
      return Number.isFinite(s) && s > 0 ? `Too many attempts. Try again in ${minutes(s)}.` : "Too many attempts. Try again later.";
    }
    case "WOULD_LOCK_OUT": {
      const ip = typeof err.details.ip === "string" ? ` (${err.details.ip})` : "";
      if (typeof err.details.blockedFrom === "string") {
        const at = new Date(err.details.blockedFrom).toLocaleString();
        return `Nothing was changed: once a temporary rule expires (${at}), these rules would block the address you are using right now${ip}, so you would be locked out then. Make the rule that covers your address permanent, or add a permanent allow rule for it first.`;
      }
      return `Nothing was changed: this rule would block the address you are using right now${ip}, so you would lock yourself out. Add an allow rule that covers your current address first, or make the change from another network.`;
    }
    case "DUPLICATE_RULE":
      return "A rule for this address range already exists. Edit that rule instead.";
    case "INVALID_OTP":
      return "That code is not valid. Check your authenticator app and try again.";
    case "REPLAYED_OTP":
      return "That code was already used. Wait for the next code in your app.";
    case "FORBIDDEN":
      return `You don't have permission to do this. ${err.message}`;
    // The validator's text is for developers: a form puts each issue on its field (lib/form.tsx).
    case "VALIDATION_FAILED":
      return "Some of what you entered was not accepted. Check each field and try again.";
    case "MALFORMED_JSON":
      return "The form could not be sent as it was. Reload the page and try again.";
    case "INTERNAL_ERROR":
      return "Something went wrong on our side. Try again.";
    default:
      return err.message;
  }
}

export const isCancelled = (err: unknown) => err instanceof ApiError && err.code === "STEP_UP_CANCELLED";
