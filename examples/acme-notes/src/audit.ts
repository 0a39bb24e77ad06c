/**
 * Acme Notes writes its own actions into Gatehouse's audit log, in the tenant's hash chain
 * beside Gatehouse's events, through the `GatehouseService` RPC entrypoint (a service
 * binding: no public URL, no token). Gatehouse takes the actor, the real admin while
 * impersonating, and the tenant from the session named here (the verified assertion's
 * `sid`), never from anything the browser sent; and it records the event only while that
 * session still acts for the assertion's `sub` (an impersonation that ended in between is
 * refused, never recorded as the admin's own action).
 *
 * A change is recorded before it is made, and not made when it cannot be recorded: a
 * deletion nobody can account for is worse than a deletion refused with 503.
 */
import type { AssertionClaims, AuditEventInput, GatehouseRpc as GatehouseService, RecordAuditEventResult } from "../../../packages/product/src/index";

export type { AuditEventInput, RecordAuditEventResult };

/** The part of Gatehouse's RPC entrypoint (docs/rpc.md; its types from @gatehouse/product) this product calls. */
export type GatehouseRpc = Pick<GatehouseService, "recordAuditEvent">;

export type NoteAction = "app.note.created" | "app.note.deleted";

export type NoteEvent = {
  action: NoteAction;
  outcome: "SUCCESS" | "FAIL";
  noteId: string;
  failureReason?: string;
  before?: unknown;
  after?: unknown;
};

// What Gatehouse accepts as a User-Agent (printable ASCII); anything else is left out, not refused.
const PRINTABLE = /^[\x20-\x7e]{1,512}$/;

/** The RPC input for one note event of this request. */
export function noteAuditInput(claims: AssertionClaims, request: Request, event: NoteEvent): AuditEventInput {
  const ip = request.headers.get("cf-connecting-ip");
  const userAgent = request.headers.get("user-agent");
  return {
    sessionId: claims.sid,
    userId: claims.sub,
    action: event.action,
    outcome: event.outcome,
    targetType: "note",
    targetId: event.noteId,
    ...(event.failureReason ? { failureReason: event.failureReason } : {}),
    ...(event.before !== undefined ? { before: event.before } : {}),
    ...(event.after !== undefined ? { after: event.after } : {}),
    ...(ip ? { ip } : {}),
    ...(userAgent && PRINTABLE.test(userAgent) ? { userAgent } : {}),
  };
}

/** Records the event; false when Gatehouse refused it or could not be reached (the caller fails closed). */
export async function recordNoteEvent(rpc: GatehouseRpc, claims: AssertionClaims, request: Request, event: NoteEvent): Promise<boolean> {
  try {
    const result = await rpc.recordAuditEvent(noteAuditInput(claims, request, event));
    if (!result.ok) console.error(JSON.stringify({ level: "error", msg: "audit event refused", action: event.action, status: result.status, error: result.error }));
    return result.ok;
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "audit event not recorded", action: event.action, error: err instanceof Error ? err.name : "unknown" }));
    return false;
  }
}
