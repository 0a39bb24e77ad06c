/**
 * Counters for dashboards: one Workers Analytics Engine data point per outcome of a
 * counted route (the names and the layout: ./metric-names.ts). The METRICS binding is
 * optional: without it nothing is written, and a binding that throws is logged, never
 * allowed to change an answer. Local mode (wrangler dev, the tests) simulates the binding.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import type { AuditAction } from "../audit/actions";
import { toApiError } from "../errors";
import { errorSummary, log } from "./log";
import { COUNTED_AUDIT_ACTIONS, type MetricEvent, type MetricOutcome } from "./metric-names";

export function writeMetric(env: AppEnv["Bindings"], event: MetricEvent, outcome: MetricOutcome, reason: string): void {
  const dataset = env.METRICS;
  if (!dataset) return;
  try {
    dataset.writeDataPoint({ indexes: [event], blobs: [event, outcome, reason], doubles: [1] });
  } catch (err) {
    log.warn("metric not written", { event, outcome, error: errorSummary(err) });
  }
}

/** The outcome of a route that has answered (or thrown `c.error`), as counted; null for a 428 question. */
export function routeOutcome(c: Context<AppEnv>): { outcome: MetricOutcome; reason: string } | null {
  const known = toApiError(c.error);
  const status = known?.status ?? (c.error ? 500 : c.res.status);
  if (status === 428) return null;
  if (status < 400) return { outcome: "success", reason: "" };
  const reason = known ? (known.audit.failureReason ?? known.code) : "INTERNAL_ERROR";
  if (status >= 500) return { outcome: "error", reason };
  return { outcome: status === 429 ? "throttled" : "failure", reason };
}

// Every key of COUNTED_AUDIT_ACTIONS must be an audit action.
const countedEvents: Partial<Record<AuditAction, MetricEvent>> = COUNTED_AUDIT_ACTIONS;
type UnknownCountedAction = Exclude<keyof typeof COUNTED_AUDIT_ACTIONS, AuditAction>;
const noUnknownCountedAction: [UnknownCountedAction] extends [never] ? true : never = true;
void noUnknownCountedAction;

/** Called by audited() once its route has answered: one data point if the route is counted. */
export function countRouteOutcome(c: Context<AppEnv>, action: AuditAction): void {
  const event = countedEvents[action];
  if (!event) return;
  const result = routeOutcome(c);
  if (result) writeMetric(c.env, event, result.outcome, result.reason);
}
