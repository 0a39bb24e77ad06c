import { useSignal } from "@preact/signals";
import { del, get, post, put, query } from "../api/client";
import type { ScimTokenView, SsoConnection, SsoConnectionInput } from "../api/types";
import { Alert } from "../components/Alert";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { PageHeader } from "../components/Layout";
import { RelativeTime } from "../components/Time";
import { CopyButton } from "../components/CopyButton";
import { describeError } from "../lib/errors";
import { FieldError, useFormFields } from "../lib/form";
import { useAction } from "../lib/useAction";
import { useLoad } from "../lib/useLoad";
import { me } from "../state/auth";
import { appUrl } from "../state/router";
import { toast } from "../state/toast";

/**
 * The organisation's single sign-on (docs/sso.md) and SCIM provisioning (docs/scim.md):
 * owners change them (with step-up), admins see them. Loaded with this page only.
 */
export function SingleSignOnPage() {
  const isOwner = me.value?.user.role === "owner";
  return (
    <>
      <PageHeader title="Single sign-on">
        Let members sign in through your organization's identity provider (Okta, Entra ID, Google Workspace…), and let it remove leavers.
      </PageHeader>
      <SsoConnectionCard isOwner={isOwner} />
      <ScimTokenCard isOwner={isOwner} />
    </>
  );
}

const splitDomains = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d.length > 0);

function CopyField({ id, label, value }: { id: string; label: string; value: string }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <div class="row copy-row">
        <input id={id} class="mono" readOnly value={value} />
        <CopyButton value={value} what={label} small />
      </div>
    </div>
  );
}

/** The connection form: the domains as typed (split when saved). */
type ConnectionForm = Omit<SsoConnectionInput, "domains"> & { domainsText: string };
const EMPTY_FORM: ConnectionForm = { issuer: "", clientId: "", clientSecret: "", domainsText: "", jitProvisioning: false, defaultRole: "member", requireSso: false };

function SsoConnectionCard({ isOwner }: { isOwner: boolean }) {
  const loaded = useLoad(() => get<{ connection: SsoConnection | null }>("/api/tenant/sso"));
  const connection = loaded.data.value?.connection ?? null;
  const editing = useSignal(false);
  const removing = useSignal(false);
  const form = useSignal<ConnectionForm>(EMPTY_FORM);
  const set = (patch: Partial<ConnectionForm>) => (form.value = { ...form.value, ...patch });

  function startEditing() {
    const c = connection;
    form.value = c
      ? { issuer: c.issuer, clientId: c.clientId, clientSecret: "", domainsText: c.domains.join(", "), jitProvisioning: c.jitProvisioning, defaultRole: c.defaultRole, requireSso: c.requireSso }
      : EMPTY_FORM;
    editing.value = true;
  }

  const fields = useFormFields({ issuer: "sso-issuer", clientId: "sso-client-id", clientSecret: "sso-client-secret", domains: "sso-domains" });
  const words = {
    issuer: "Enter your identity provider's issuer URL, starting with https://.",
    clientId: "Enter the client ID your identity provider gave you.",
    clientSecret: "Enter the client secret your identity provider gave you.",
    domains: "Enter one or more email domains, like example.com, separated by commas.",
  };
  const save = useAction(
    async () => {
      const { domainsText, clientSecret, ...rest } = form.value;
      const body: SsoConnectionInput = { ...rest, domains: splitDomains(domainsText), ...(clientSecret ? { clientSecret } : {}) };
      await put("/api/tenant/sso", body);
      editing.value = false;
      await loaded.reload();
      toast("Single sign-on saved.");
    },
    { onError: (err) => void (fields.fromApi(err, words) || (save.error.value = describeError(err))) },
  );

  function submit(e: Event) {
    e.preventDefault();
    const f = form.value;
    const ok = fields.check({
      issuer: !f.issuer.trim() && words.issuer,
      clientId: !f.clientId.trim() && words.clientId,
      clientSecret: !connection && !f.clientSecret && words.clientSecret,
      domains: splitDomains(f.domainsText).length === 0 && words.domains,
    });
    if (ok) void save.run();
  }

  return (
    <section class="card" aria-labelledby="sso-heading">
      <h2 id="sso-heading">OpenID Connect</h2>
      <Alert>{loaded.error.value}</Alert>
      {loaded.loading.value && !loaded.data.value && <p class="empty" role="status">Loading…</p>}
      {loaded.data.value && !editing.value && (
        <div class="stack">
          {connection ? (
            <>
              <dl class="facts">
                <dt>Identity provider</dt>
                <dd class="mono">{connection.issuer}</dd>
                <dt>Client ID</dt>
                <dd class="mono">{connection.clientId}</dd>
                <dt>Email domains</dt>
                <dd>{connection.domains.join(", ")}</dd>
                <dt>New people</dt>
                <dd>{connection.jitProvisioning ? `Join as ${connection.defaultRole} on their first sign-in` : "Must be invited (or provisioned by SCIM) first"}</dd>
                <dt>Passwords</dt>
                <dd>{connection.requireSso ? "Members must use single sign-on; owners keep a password with two-factor for emergencies" : "Members may also sign in with a password or passkey"}</dd>
              </dl>
              <p class="muted small">
                Saved <RelativeTime iso={connection.updatedAt} />.
              </p>
            </>
          ) : (
            <p class="empty">Single sign-on is not set up. Members sign in with a password and a second factor.</p>
          )}
          {isOwner ? (
            <div class="row">
              <button type="button" class="button button-primary" onClick={startEditing}>
                {connection ? "Edit" : "Set up single sign-on"}
              </button>
              {connection && (
                <a class="button" href={appUrl(`/api/auth/sso/start${query({ email: me.value?.user.email, returnTo: location.pathname })}`)}>
                  Test sign-in
                </a>
              )}
              {connection && (
                <button type="button" class="button button-danger-outline" onClick={() => (removing.value = true)}>
                  Remove
                </button>
              )}
            </div>
          ) : (
            <p class="muted small">Only an owner can change single sign-on.</p>
          )}
          {connection && (
            <>
              <CopyField id="sso-redirect-uri" label="Sign-in redirect URI" value={connection.redirectUri} />
              <CopyField id="sso-logout-uri" label="Back-channel logout URI" value={connection.backchannelLogoutUri} />
            </>
          )}
        </div>
      )}
      {editing.value && (
        <form class="stack" onSubmit={submit} noValidate>
          <div class="field">
            <label for="sso-issuer">Issuer URL</label>
            <input {...fields.props("issuer", "sso-issuer-hint")} type="url" class="mono" placeholder="https://your-org.okta.com" value={form.value.issuer} onInput={(e) => set({ issuer: e.currentTarget.value })} />
            <p id="sso-issuer-hint" class="hint">We read the provider's settings from this address's /.well-known/openid-configuration when you save.</p>
            <FieldError form={fields} field="issuer" />
          </div>
          <div class="field">
            <label for="sso-client-id">Client ID</label>
            <input {...fields.props("clientId")} class="mono" value={form.value.clientId} onInput={(e) => set({ clientId: e.currentTarget.value })} />
            <FieldError form={fields} field="clientId" />
          </div>
          <div class="field">
            <label for="sso-client-secret">Client secret</label>
            <input
              {...fields.props("clientSecret")}
              type="password"
              autoComplete="off"
              placeholder={connection?.secretSet ? "Saved: leave empty to keep it" : ""}
              value={form.value.clientSecret ?? ""}
              onInput={(e) => set({ clientSecret: e.currentTarget.value })}
            />
            <FieldError form={fields} field="clientSecret" />
          </div>
          <div class="field">
            <label for="sso-domains">Email domains</label>
            <input {...fields.props("domains", "sso-domains-hint")} placeholder="example.com, example.org" value={form.value.domainsText} onInput={(e) => set({ domainsText: e.currentTarget.value })} />
            <p id="sso-domains-hint" class="hint">People whose email is at these domains are sent to your identity provider to sign in.</p>
            <FieldError form={fields} field="domains" />
          </div>
          <label class="checkbox">
            <input type="checkbox" checked={form.value.jitProvisioning} onChange={(e) => set({ jitProvisioning: e.currentTarget.checked })} /> Let new people join on their first sign-in
          </label>
          <div class="field">
            <label for="sso-role">Their role</label>
            <select id="sso-role" value={form.value.defaultRole} onChange={(e) => set({ defaultRole: e.currentTarget.value === "admin" ? "admin" : "member" })}>
              <option value="member">member</option>
              <option value="admin">admin</option>
            </select>
          </div>
          <label class="checkbox">
            <input type="checkbox" checked={form.value.requireSso} onChange={(e) => set({ requireSso: e.currentTarget.checked })} /> Require single sign-on
          </label>
          <p class="muted small option-hint">
            Members can then sign in only through your identity provider: their passwords and passkeys stop working for sign-in. Owners keep their password with a
            second factor, for when the provider is down.
          </p>
          <Alert>{save.error.value}</Alert>
          <div class="row">
            <button type="submit" class="button button-primary" aria-disabled={save.busy.value}>
              {save.busy.value ? "Checking the provider…" : "Save"}
            </button>
            <button type="button" class="button" onClick={() => (editing.value = false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {removing.value && (
        <ConfirmDialog
          title="Remove single sign-on?"
          confirmLabel="Remove"
          danger
          onClose={() => (removing.value = false)}
          onConfirm={async () => {
            await del("/api/tenant/sso");
            await loaded.reload();
            toast("Single sign-on removed.");
          }}
        >
          <p>Members sign in with a password again. Those who never had one (created by single sign-on or SCIM) must reset it first.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function ScimTokenCard({ isOwner }: { isOwner: boolean }) {
  const loaded = useLoad(() => get<{ token: ScimTokenView | null; baseUrl: string }>("/api/tenant/scim-token"));
  const token = loaded.data.value?.token ?? null;
  const fresh = useSignal<string | null>(null);
  const confirming = useSignal<"create" | "delete" | null>(null);

  return (
    <section class="card" aria-labelledby="scim-heading">
      <h2 id="scim-heading">SCIM provisioning</h2>
      <p class="muted small">Your identity provider creates, updates, disables and removes members here. Disabling someone there ends every session they have here.</p>
      <Alert>{loaded.error.value}</Alert>
      {loaded.data.value && <CopyField id="scim-base-url" label="SCIM base URL" value={loaded.data.value.baseUrl} />}
      {fresh.value && (
        <>
          <Alert tone="warning">Copy this token into your identity provider now: it is shown only once.</Alert>
          <CopyField id="scim-token" label="SCIM token" value={fresh.value} />
        </>
      )}
      {loaded.data.value && (
        <p>
          {token ? (
            <>
              A token is set, made <RelativeTime iso={token.createdAt} />
              {token.createdBy ? ` by ${token.createdBy}` : ""}; {token.lastUsedAt ? <>last used <RelativeTime iso={token.lastUsedAt} />.</> : "never used yet."}
              {!token.active && " It no longer works: whoever made it is no longer an owner. Replace it."}
            </>
          ) : (
            "No token: SCIM is off."
          )}
        </p>
      )}
      {isOwner ? (
        <div class="row">
          <button type="button" class="button" onClick={() => (confirming.value = "create")}>
            {token ? "Replace token" : "Create token"}
          </button>
          {token && (
            <button type="button" class="button button-danger-outline" onClick={() => (confirming.value = "delete")}>
              Turn SCIM off
            </button>
          )}
        </div>
      ) : (
        <p class="muted small">Only an owner can create the token.</p>
      )}
      {confirming.value && (
        <ConfirmDialog
          title={confirming.value === "delete" ? "Turn SCIM off?" : token ? "Replace the SCIM token?" : "Create a SCIM token?"}
          confirmLabel={confirming.value === "delete" ? "Turn off" : token ? "Replace" : "Create"}
          danger={confirming.value === "delete" || token !== null}
          onClose={() => (confirming.value = null)}
          onConfirm={async () => {
            if (confirming.value === "delete") {
              await del("/api/tenant/scim-token");
              fresh.value = null;
              toast("SCIM is off.");
            } else {
              fresh.value = (await post<{ token: string }>("/api/tenant/scim-token")).token;
            }
            await loaded.reload();
          }}
        >
          <p>
            {confirming.value === "delete"
              ? "Your identity provider can no longer change members here."
              : token
                ? "The current token stops working at once: paste the new one into your identity provider."
                : "The token lets your identity provider manage this organization's members (never its owners)."}
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
