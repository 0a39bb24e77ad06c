import { useEffect } from "preact/hooks";
import { post } from "../api/client";
import { describeError } from "../lib/errors";
import { useAction } from "../lib/useAction";
import { loadMe, me } from "../state/auth";
import { now } from "../state/clock";
import { navigate } from "../state/router";
import { toast } from "../state/toast";
import { formatDuration } from "./Time";

/** On every page while an admin acts as someone else: who, why, how long, and the way out. */
export function ImpersonationBanner() {
  const info = me.value?.impersonation;
  const expiresMs = info ? Date.parse(info.expiresAt) : 0;
  const left = Math.max(0, (expiresMs - now.value) / 1000);
  const expired = info !== undefined && info !== null && left <= 0;

  useEffect(() => {
    // The server ends it at expiry; ask who we are now rather than keep a stale banner.
    if (expired) void loadMe();
  }, [expired]);

  const { busy, run: exit } = useAction(
    async () => {
      await post("/api/impersonate/exit");
      await loadMe();
      toast(`You are back as ${info?.realUser.displayName ?? "yourself"}.`);
      navigate("/team");
    },
    { onError: (err) => toast(describeError(err), "error") },
  );

  if (!info || !me.value) return null;

  return (
    <div class="impersonation-banner" role="region" aria-label="Impersonation">
      <p>
        You are acting as <strong>{me.value.user.displayName}</strong> ({info.reason}) —{" "}
        <span class="muted-on-dark">
          {expired ? "ending…" : `${formatDuration(left)} left`} · signed in as {info.realUser.displayName}
        </span>
      </p>
      <button type="button" class="button button-small" onClick={exit} aria-disabled={busy.value}>
        {busy.value ? "Exiting…" : "Exit"}
      </button>
    </div>
  );
}
