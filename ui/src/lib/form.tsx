/**
 * A form's field errors, one way for every form: the page checks its fields before sending
 * (plain words, the first field with a problem takes focus), and the API's refusal of a
 * field (400 VALIDATION_FAILED's `issues`, 400 WEAK_PASSWORD) lands on the field it
 * concerns, in the form's own words. The validator's text (`issues[].message`) is never
 * shown: it is written for developers.
 */
import { useSignal } from "@preact/signals";
import { ApiError } from "../api/client";
import { MIN_PASSWORD_LENGTH } from "../api/types";

type Problems<F extends string> = Partial<Record<F, string | null | false | undefined>>;

export type FormFields<F extends string> = ReturnType<typeof useFormFields<F>>;

/** The API's field names that a VALIDATION_FAILED names (an issue's path, first segment). */
function issueFields(err: ApiError): string[] {
  const issues = Array.isArray(err.details.issues) ? (err.details.issues as { path?: unknown }[]) : [];
  return issues.map((i) => (typeof i.path === "string" ? (i.path.split(".")[0] ?? "") : ""));
}

/**
 * `ids`: each field the API knows (`email`, `newPassword`) and the id of its input, which
 * focus goes to and whose error paragraph is `${id}-error`.
 */
export function useFormFields<F extends string>(ids: Record<F, string>) {
  const errors = useSignal<Partial<Record<F, string>>>({});
  const fields = Object.keys(ids) as F[];

  function show(found: Partial<Record<F, string>>): boolean {
    errors.value = found;
    const first = fields.find((f) => found[f]);
    if (first) document.getElementById(ids[first])?.focus();
    return first !== undefined;
  }

  return {
    errors,
    /** Shows the page's own checks; true when every field passed. */
    check(problems: Problems<F>): boolean {
      const found: Partial<Record<F, string>> = {};
      for (const f of fields) if (problems[f]) found[f] = problems[f] as string;
      return !show(found);
    },
    /**
     * Puts the API's refusal on its fields: `words` says, per field, what to tell the person
     * when the API refuses it; `weakPassword`, the field a WEAK_PASSWORD concerns (its message
     * is the password policy's own sentence). False when the refusal concerns no field here.
     */
    fromApi(err: unknown, words: Problems<F>, weakPassword?: F): boolean {
      if (!(err instanceof ApiError)) return false;
      if (err.code === "WEAK_PASSWORD" && weakPassword) return show({ [weakPassword]: sentence(err.message) } as Partial<Record<F, string>>);
      if (err.code !== "VALIDATION_FAILED") return false;
      const found: Partial<Record<F, string>> = {};
      for (const name of issueFields(err)) {
        const f = fields.find((x) => x === name);
        const said = f ? words[f] : undefined;
        if (f && typeof said === "string") found[f] = said;
      }
      return show(found);
    },
    clear() {
      errors.value = {};
    },
    /** The input's id and its error's wiring; `hintId` keeps a hint described too. */
    props(field: F, hintId?: string) {
      const error = errors.value[field];
      const described = [hintId, error ? `${ids[field]}-error` : undefined].filter(Boolean).join(" ");
      return { id: ids[field], "aria-invalid": error ? true : undefined, "aria-describedby": described || undefined };
    },
    ids,
  };
}

/** The API's message as a sentence: a capital first letter and a full stop. */
function sentence(text: string): string {
  const t = text.trim();
  return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
}

/** A field's error under its input (the input names it in aria-describedby). */
export function FieldError<F extends string>({ form, field }: { form: FormFields<F>; field: F }) {
  const error = form.errors.value[field];
  if (!error) return null;
  return (
    <p id={`${form.ids[field]}-error`} class="field-error">
      {error}
    </p>
  );
}

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The page's check of an email field: null when it looks like an address. */
export function emailProblem(value: string): string | null {
  const v = value.trim();
  if (!v) return "Enter your email address.";
  return EMAIL_SHAPE.test(v) ? null : "Enter an email address like name@example.com.";
}

/** The page's check of a new password: the length rule the server applies (src/lib/password-policy.ts). */
export function newPasswordProblem(value: string): string | null {
  if (!value) return "Choose a password.";
  return [...value.normalize("NFKC")].length < MIN_PASSWORD_LENGTH ? `Use at least ${MIN_PASSWORD_LENGTH} characters (a few words make a good one).` : null;
}
