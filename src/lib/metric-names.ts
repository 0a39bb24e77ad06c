/**
 * The counters Gatehouse writes to Workers Analytics Engine (the METRICS binding,
 * src/lib/metrics.ts), named once here and import-free like the other vocabularies.
 * Dashboard queries (the SQL API) are in docs/operations.md.
 *
 * One data point per outcome of a counted route:
 *   index1  the event                      (also the sampling key)
 *   blob1   the event                      "sign_in" | "step_up"
 *   blob2   the outcome                    "success" | "failure" | "throttled" | "error"
 *   blob3   the reason, "" for a success   e.g. INVALID_PASSWORD, UNKNOWN_EMAIL, INVALID_OTP,
 *                                          TOO_MANY_ATTEMPTS, LOCKED_OUT, INTERNAL_ERROR
 *   double1 1                              (sum it, weighted by _sample_interval)
 */
export const METRICS_DATASET = "gatehouse_auth";

export const METRIC_EVENTS = ["sign_in", "step_up"] as const;
export type MetricEvent = (typeof METRIC_EVENTS)[number];

export const METRIC_OUTCOMES = ["success", "failure", "throttled", "error"] as const;
export type MetricOutcome = (typeof METRIC_OUTCOMES)[number];

/** The audited routes whose outcomes are counted, by their audit action (src/audit/actions.ts). */
export const COUNTED_AUDIT_ACTIONS = {
  LOGIN_FAILED: "sign_in",
  STEP_UP_VERIFIED: "step_up",
} as const satisfies Record<string, MetricEvent>;
