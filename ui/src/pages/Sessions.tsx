import { useSignal } from "@preact/signals";
import { get, post, query } from "../api/client";
import type { RevokeReason, Session, SessionList, TeamMember } from "../api/types";
import { Alert } from "../components/Alert";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { DeviceIcon } from "../components/Icons";
import { PageHeader } from "../components/Layout";
import { RelativeTime } from "../components/Time";
import { parseAgent, place } from "../lib/agent";
import { describeError, isCancelled } from "../lib/errors";
import { useLoad } from "../lib/useLoad";
import { me, sessionLost } from "../state/auth";
import { appUrl, onLinkClick, search } from "../state/router";
import { toast } from "../state/toast";

const REVOKE_REASONS: Record<RevokeReason, string> = {
  LOGOUT: "Signed out",
  REVOKED: "Revoked by you",
  REVOKED_BY_ADMIN: "Revoked by an administrator",
  REVOKE_ALL_OTHERS: "Signed out from another session",
  TENANT_DISABLED: "Organization disabled",
  FORCE_LOGOUT: "Signed out everywhere by an administrator",
  USER_DISABLED: "Ended when the member was disabled",
  USER_REMOVED: "Ended when the member was removed",
  MFA_RESET: "Ended when two-factor was reset",
  PASSWORD_CHANGED: "Ended by a password change",
  PASSWORD_RESET: "Ended by a password reset",
  SSO_LOGOUT: "Ended by your identity provider",
};

type Revoke = (s: Session) => Promise<void>;

function SessionRow({ session, onRevoke, own }: { session: Session; onRevoke?: (s: Session) => void; own: boolean }) {
  const agent = parseAgent(session.userAgent);
  const ended = !session.active;
  // The API always names the device ("Unknown device" for agents such as curl).
  const device = session.device;
  // The device's name often is its browser and system already ("Chrome on Linux"): say only what it adds.
  const detail = [agent.browser, agent.os].filter((part) => part && !device.includes(part));
  return (
    <li class={ended ? "session session-ended" : "session"} data-session-id={session.id}>
      <DeviceIcon mobile={agent.mobile} />
      <div class="session-main">
        <p class="session-title">
          <span>{device}</span>
          {session.current && <span class="badge badge-green">This device</span>}
        </p>
        {detail.length > 0 && <p class="session-meta">{detail.join(" · ")}</p>}
        <p class="session-meta">
          {place(session.city, session.country)} · <span class="mono">{session.ip ?? "unknown IP"}</span>
        </p>
        <p class="session-meta">
          {ended ? (
            session.revokedAt ? (
              <>
                {session.revokeReason === "REVOKED" && !own ? "Revoked by its owner" : (session.revokeReason ? REVOKE_REASONS[session.revokeReason] : "Revoked")}{" "}
                <RelativeTime iso={session.revokedAt} />
              </>
            ) : (
              <>
                Expired after inactivity · last active <RelativeTime iso={session.lastSeenAt} />
              </>
            )
          ) : (
            <>
              Last active <RelativeTime iso={session.lastSeenAt} /> · signed in <RelativeTime iso={session.createdAt} />
            </>
          )}
        </p>
      </div>
      {onRevoke && (
        <button type="button" class="button button-danger-outline" onClick={() => onRevoke(session)} aria-label={`Revoke ${device}${session.current ? " (this device)" : ""}`}>
          Revoke
        </button>
      )}
    </li>
  );
}

export function SessionsPage() {
  // Admins reach a member's sessions from the Team page (?userId=); everyone else sees their own.
  const requested = new URLSearchParams(search.value).get("userId");
  const userId = requested && requested !== me.value?.user.id ? requested : null;
  const list = useLoad(() => get<SessionList>(`/api/security/sessions${query({ userId })}`), [userId]);
  const member = useLoad(
    () => (userId ? get<{ users: TeamMember[] }>("/api/users").then((r) => r.users.find((u) => u.id === userId) ?? null) : Promise.resolve(null)),
    [userId],
  );
  const confirming = useSignal<"others" | Session | null>(null);
  const actionError = useSignal<string | null>(null);

  const sessions = list.data.value?.sessions ?? [];
  const active = sessions.filter((s) => s.active).sort((a, b) => Number(b.current) - Number(a.current));
  // Most recently ended first: that is what someone checking "did it work?" looks for.
  const endedAt = (s: Session) => Date.parse(s.revokedAt ?? s.lastSeenAt);
  const ended = sessions.filter((s) => !s.active).sort((a, b) => endedAt(b) - endedAt(a));
  const others = active.filter((s) => !s.current);

  const revoke: Revoke = async (s) => {
    const res = await post<{ success: boolean; currentRevoked?: boolean }>(`/api/security/sessions/${encodeURIComponent(s.id)}/revoke`);
    if (res.currentRevoked) {
      sessionLost("SESSION_REVOKED");
      return;
    }
    toast(`Signed out ${s.device || "the session"}.`);
    await list.reload();
  };

  async function revokeDirect(s: Session) {
    actionError.value = null;
    try {
      await revoke(s);
    } catch (err) {
      if (!isCancelled(err)) actionError.value = describeError(err);
    }
  }

  async function revokeOthers() {
    const res = await post<{ success: boolean; revoked: number }>("/api/security/sessions/revoke-others");
    toast(res.revoked === 1 ? "Signed out 1 other session." : `Signed out ${res.revoked} other sessions.`);
    await list.reload();
  }

  const pending = confirming.value;
  const who = member.data.value;
  return (
    <>
      {userId ? (
        <PageHeader title={who ? `Sessions of ${who.displayName}` : "Member sessions"}>
          {who ? `${who.email}: ` : ""}revoking a session signs that browser out on its next request.{" "}
          <a href={appUrl("/team")} onClick={onLinkClick}>
            Back to Team
          </a>
        </PageHeader>
      ) : (
        <PageHeader title="Active sessions">
          These are the browsers and devices signed in to your account. Revoke any session you do not recognize; it stops working on its next request.
        </PageHeader>
      )}
      <Alert>{list.error.value ?? actionError.value}</Alert>

      <section class="card" aria-labelledby="active-heading">
        <div class="card-head">
          <h2 id="active-heading">
            Signed in {list.data.value && <span class="count">{active.length}</span>}
          </h2>
          {!userId && (
            <button type="button" class="button button-danger-outline" disabled={others.length === 0} onClick={() => (confirming.value = "others")}>
              Sign out all other sessions
            </button>
          )}
        </div>
        {list.loading.value && !list.data.value ? (
          <p class="empty" role="status">Loading sessions…</p>
        ) : (
          <ul class="session-list">
            {active.map((s) => (
              <SessionRow key={s.id} session={s} own={!userId} onRevoke={(x) => (x.current ? (confirming.value = x) : void revokeDirect(x))} />
            ))}
            {active.length === 0 && <li class="empty">No active sessions.</li>}
          </ul>
        )}
      </section>

      {ended.length > 0 && (
        <section class="card" aria-labelledby="ended-heading">
          <div class="card-head">
            <h2 id="ended-heading">
              Ended sessions <span class="count">{ended.length}</span>
            </h2>
          </div>
          <ul class="session-list">
            {ended.map((s) => (
              <SessionRow key={s.id} session={s} own={!userId} />
            ))}
          </ul>
        </section>
      )}

      {pending === "others" && (
        <ConfirmDialog title="Sign out all other sessions?" confirmLabel="Sign out others" danger onConfirm={revokeOthers} onClose={() => (confirming.value = null)}>
          <p>
            {others.length === 1 ? "1 other session" : `${others.length} other sessions`} will be signed out. This browser stays signed in.
          </p>
        </ConfirmDialog>
      )}
      {pending && pending !== "others" && (
        <ConfirmDialog title="Sign out this device?" confirmLabel="Revoke and sign out" danger onConfirm={() => revoke(pending)} onClose={() => (confirming.value = null)}>
          <p>This is the session you are using now. Revoking it signs you out of this browser immediately.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
