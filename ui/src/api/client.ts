/**
 * The panel's one way to talk to the API. Every page goes through `api`, so the two
 * cross-cutting answers are handled once: 428 STEP_UP_REQUIRED (ask the user to
 * re-verify, then replay the request) and 401 session loss (back to sign-in).
 */
import { appUrl } from "../state/router";
import type { StepUpChallenge, StepUpMethod } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The 401 codes that mean "this browser no longer has a session". */
export const SESSION_LOSS_CODES = ["UNAUTHORIZED", "SESSION_REVOKED", "SESSION_INVALIDATED"] as const;
export type SessionLossCode = (typeof SESSION_LOSS_CODES)[number];

type Hooks = {
  /** Resolves once the user has verified; rejects if they cancel. */
  stepUp: (challenge: StepUpChallenge) => Promise<void>;
  sessionLost: (code: SessionLossCode) => void;
};

let hooks: Hooks = {
  stepUp: () => Promise.reject(new ApiError(428, "STEP_UP_REQUIRED", "Verification is required")),
  sessionLost: () => undefined,
};

export function configureClient(h: Hooks): void {
  hooks = h;
}

export type RequestOptions = {
  body?: unknown;
  /** Sign-in and the first /me probe handle their own 401s instead of redirecting. */
  ownUnauthorized?: boolean;
  /** The step-up verification call itself must not open another step-up. */
  noStepUp?: boolean;
};

// A second 428 after a successful verify means the grant did not stick; asking
// forever would trap the user, so give up after this many rounds.
const MAX_STEP_UPS = 2;

async function readError(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy error page, say): fall through to a generic message.
  }
  if (body && typeof body === "object" && "error" in body && typeof body.error === "string") {
    const { error, message, ...details } = body as Record<string, unknown>;
    return new ApiError(res.status, error as string, typeof message === "string" ? message : String(error), details);
  }
  return new ApiError(res.status, "HTTP_" + res.status, `The server answered ${res.status} ${res.statusText}`.trim());
}

function asChallenge(err: ApiError): StepUpChallenge {
  const methods: StepUpMethod[] = Array.isArray(err.details.methods) ? (err.details.methods as StepUpMethod[]) : ["totp"];
  return {
    purpose: typeof err.details.purpose === "string" ? err.details.purpose : "UNKNOWN",
    methods,
    enrollmentRequired: err.details.enrollmentRequired === true,
    phishingResistantRequired: err.details.phishingResistantRequired === true,
    ...(typeof err.details.label === "string" ? { label: err.details.label } : {}),
  };
}

/** Sends a request and applies the step-up and session-loss rules; returns the OK response. */
export async function send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  for (let round = 0; ; round++) {
    let res: Response;
    try {
      // Paths are the API's own ("/api/me"); the API lives under the Gatehouse path.
      res = await fetch(appUrl(path), {
        method,
        credentials: "same-origin",
        headers: options.body === undefined ? { accept: "application/json" } : { accept: "application/json", "content-type": "application/json" },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    } catch {
      throw new ApiError(0, "NETWORK_ERROR", "Can't reach Gatehouse. Check your connection and try again.");
    }
    if (res.ok) return res;

    const err = await readError(res);
    if (res.status === 428 && err.code === "STEP_UP_REQUIRED" && !options.noStepUp && round < MAX_STEP_UPS) {
      await hooks.stepUp(asChallenge(err));
      continue;
    }
    if (res.status === 401 && !options.ownUnauthorized && (SESSION_LOSS_CODES as readonly string[]).includes(err.code)) {
      hooks.sessionLost(err.code as SessionLossCode);
    }
    throw err;
  }
}

export async function api<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const res = await send(method, path, options);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const get = <T>(path: string, options?: RequestOptions) => api<T>("GET", path, options);
export const post = <T>(path: string, body: unknown = {}, options?: RequestOptions) => api<T>("POST", path, { ...options, body });
export const patch = <T>(path: string, body: unknown) => api<T>("PATCH", path, { body });
export const put = <T>(path: string, body: unknown) => api<T>("PUT", path, { body });
export const del = <T>(path: string) => api<T>("DELETE", path);

export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}
