import { useSignal } from "@preact/signals";
import { useId } from "preact/hooks";
import { ApiError } from "../api/client";
import type { IpRule, IpRuleInput } from "../api/types";
import { describeError } from "../lib/errors";
import { useAction } from "../lib/useAction";
import { Alert } from "./Alert";

// Shape only, to catch typos before a round trip; the API is the authority on validity.
const CIDR_SHAPE = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)(?:\/\d{1,3})?$/;

/** datetime-local works in local time without a zone; the API wants an instant. */
const toLocalInput = (iso: string | null) => {
  if (!iso) return "";
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

/** What to say when the API refuses a field other than the address. */
const OTHER_FIELD_WORDS: Record<string, string> = {
  description: "Keep the description to 200 characters.",
  expiresAt: "Choose a time in the future, or leave it empty for a permanent rule.",
  action: "Choose Allow or Deny.",
};

type Props = {
  initial?: IpRule;
  submitLabel: string;
  onSubmit: (input: IpRuleInput) => Promise<void>;
  onCancel?: () => void;
};

export function RuleForm({ initial, submitLabel, onSubmit, onCancel }: Props) {
  const id = useId();
  const action = useSignal<"allow" | "deny">(initial?.action ?? "allow");
  const cidr = useSignal(initial?.cidr ?? "");
  const description = useSignal(initial?.description ?? "");
  const expires = useSignal(toLocalInput(initial?.expiresAt ?? null));
  const fieldErrors = useSignal<Record<string, string>>({});
  const { busy, error, run } = useAction(
    async (rule: IpRuleInput) => {
      await onSubmit(rule);
      if (!initial) {
        cidr.value = "";
        description.value = "";
        expires.value = "";
      }
    },
    {
      onError: (err) => {
        const issues = err instanceof ApiError && Array.isArray(err.details.issues) ? (err.details.issues as { path?: string; message?: string }[]) : [];
        const byField: Record<string, string> = {};
        // The address's issue is the CIDR parser's own sentence for people ("Host bits set: did you
        // mean 10.0.0.0/8?", src/ip-rules/cidr.ts); the other fields' are the validator's, so the form's words.
        for (const i of issues) if (i.path && i.message) byField[i.path] = i.path === "cidr" ? i.message.charAt(0).toUpperCase() + i.message.slice(1) : (OTHER_FIELD_WORDS[i.path] ?? "Check this field.");
        fieldErrors.value = err instanceof ApiError && err.code === "DUPLICATE_RULE" ? { cidr: describeError(err) } : byField;
        if (Object.keys(fieldErrors.value).length === 0) error.value = describeError(err);
      },
    },
  );

  function submit(e: Event) {
    e.preventDefault();
    if (busy.value) return;
    error.value = null;
    const value = cidr.value.trim();
    const local: Record<string, string> = {};
    if (!value) local.cidr = "Enter an IP address or range.";
    else if (!CIDR_SHAPE.test(value)) local.cidr = "Use an IPv4 or IPv6 address, optionally with a prefix length, like 203.0.113.0/24 or 2001:db8::/32.";
    if (expires.value && Date.parse(expires.value) <= Date.now()) local.expiresAt = "Choose a time in the future, or leave it empty for a permanent rule.";
    fieldErrors.value = local;
    if (Object.keys(local).length > 0) return;
    void run({
      action: action.value,
      cidr: value,
      description: description.value.trim() || null,
      expiresAt: expires.value ? new Date(expires.value).toISOString() : null,
    });
  }

  const fe = fieldErrors.value;
  return (
    <form onSubmit={submit} class="rule-form" noValidate>
      <div class="field">
        <label for={`${id}-action`}>Action</label>
        <select id={`${id}-action`} value={action.value} onChange={(e) => (action.value = e.currentTarget.value === "deny" ? "deny" : "allow")}>
          <option value="allow">Allow</option>
          <option value="deny">Deny</option>
        </select>
      </div>
      <div class="field">
        <label for={`${id}-cidr`}>IP address or CIDR range</label>
        <input
          id={`${id}-cidr`}
          class="mono"
          placeholder="203.0.113.0/24"
          value={cidr.value}
          onInput={(e) => (cidr.value = e.currentTarget.value)}
          aria-invalid={fe.cidr ? true : undefined}
          aria-describedby={fe.cidr ? `${id}-cidr-error` : undefined}
        />
        {fe.cidr && (
          <p id={`${id}-cidr-error`} class="field-error">
            {fe.cidr}
          </p>
        )}
      </div>
      <div class="field">
        <label for={`${id}-desc`}>Description (optional)</label>
        <input id={`${id}-desc`} maxLength={200} value={description.value} onInput={(e) => (description.value = e.currentTarget.value)} />
        {fe.description && <p class="field-error">{fe.description}</p>}
      </div>
      <div class="field">
        <label for={`${id}-expires`}>Expires (optional)</label>
        <input
          id={`${id}-expires`}
          type="datetime-local"
          value={expires.value}
          onInput={(e) => (expires.value = e.currentTarget.value)}
          aria-invalid={fe.expiresAt ? true : undefined}
        />
        {fe.expiresAt && <p class="field-error">{fe.expiresAt}</p>}
      </div>
      <div class="rule-form-actions">
        {onCancel && (
          <button type="button" class="button" onClick={onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" class="button button-primary" aria-disabled={busy.value}>
          {busy.value ? "Saving…" : submitLabel}
        </button>
      </div>
      <div class="rule-form-error">
        <Alert>{error.value}</Alert>
      </div>
    </form>
  );
}
