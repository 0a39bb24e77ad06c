import { useSignal } from "@preact/signals";
import { del, get, patch, post, query } from "../api/client";
import type { IpCheck, IpRule, IpRuleInput } from "../api/types";
import { Alert } from "../components/Alert";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { PageHeader } from "../components/Layout";
import { Modal } from "../components/Modal";
import { RuleForm } from "../components/RuleForm";
import { RelativeTime } from "../components/Time";
import { describeError } from "../lib/errors";
import { useLoad } from "../lib/useLoad";
import { canEditSecurity } from "../state/auth";
import { toast } from "../state/toast";

const rulePath = (id: string) => `/api/security/ip-rules/${encodeURIComponent(id)}`;

const CHECK_REASONS: Record<string, string> = {
  NO_RULES_IN_EFFECT: "no rules are in effect, so every address is allowed",
  NO_MATCHING_RULE: "no rule matches it and there is no allow list",
  NOT_IN_ALLOW_LIST: "allow rules are in effect and none of them matches it",
  UNKNOWN_ADDRESS: "the address could not be determined",
};

function CheckAddress() {
  const ip = useSignal("");
  const result = useSignal<IpCheck | null>(null);
  const error = useSignal<string | null>(null);

  async function check(e: Event) {
    e.preventDefault();
    result.value = null;
    error.value = null;
    try {
      // Without an address the API checks the caller's own.
      result.value = await get<IpCheck>(`/api/security/ip-rules/check${query({ ip: ip.value.trim() })}`);
    } catch (err) {
      error.value = describeError(err);
    }
  }

  const r = result.value;
  const m = r?.matchedRule;
  return (
    <section class="card" aria-labelledby="check-heading">
      <h2 id="check-heading">Check an address</h2>
      <form onSubmit={check} class="inline-form" noValidate>
        <div class="field field-grow">
          <label for="check-ip">IP address</label>
          <input
            id="check-ip"
            class="mono"
            placeholder="198.51.100.7"
            value={ip.value}
            onInput={(e) => (ip.value = e.currentTarget.value)}
            aria-describedby="check-ip-hint"
          />
          <p id="check-ip-hint" class="hint">
            Leave empty to check the address you are using now.
          </p>
        </div>
        <button type="submit" class="button">
          Check
        </button>
      </form>
      <Alert>{error.value}</Alert>
      {r && (
        <Alert tone={r.allowed ? "success" : "error"}>
          <strong class="mono">{r.ip ?? "Your address"}</strong> {r.allowed ? "would be allowed" : "would be blocked"}
          {m ? (
            <>
              {" "}
              by the {m.action} rule <span class="mono">{m.cidr}</span>
              {m.description ? ` (${m.description})` : ""}.
            </>
          ) : (
            `: ${CHECK_REASONS[r.reason ?? ""] ?? "no rule matches it"}.`
          )}
        </Alert>
      )}
    </section>
  );
}

function RulesTable({ rules, onEdit, onDelete }: { rules: IpRule[]; onEdit: (r: IpRule) => void; onDelete: (r: IpRule) => void }) {
  if (rules.length === 0) return <p class="empty">No rules yet: every address may sign in. Add an allow rule to restrict access to known networks.</p>;
  return (
    <div class="table-wrap">
      <table class="table stack-on-mobile">
        <thead>
          <tr>
            <th scope="col">Action</th>
            <th scope="col">Range</th>
            <th scope="col">Description</th>
            <th scope="col">Expires</th>
            <th scope="col">Updated</th>
            {canEditSecurity.value && (
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {rules.map((r) => (
            <tr key={r.id} data-rule-id={r.id}>
              <td data-label="Action">
                <span class={r.action === "allow" ? "badge badge-green" : "badge badge-red"}>{r.action}</span>
              </td>
              <td data-label="Range" class="mono">
                {r.cidr}
              </td>
              <td data-label="Description">{r.description || <span class="muted">—</span>}</td>
              <td data-label="Expires">{r.expiresAt ? <RelativeTime iso={r.expiresAt} /> : <span class="muted">Never</span>}</td>
              <td data-label="Updated">
                <RelativeTime iso={r.updatedAt} />
              </td>
              {canEditSecurity.value && (
                <td class="cell-actions">
                  <button type="button" class="button button-small" onClick={() => onEdit(r)} aria-label={`Edit rule ${r.cidr}`}>
                    Edit
                  </button>
                  <button type="button" class="button button-small button-danger-outline" onClick={() => onDelete(r)} aria-label={`Delete rule ${r.cidr}`}>
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function IpRulesPage() {
  const list = useLoad(() => get<{ rules: IpRule[] }>("/api/security/ip-rules"));
  const editing = useSignal<IpRule | null>(null);
  const deleting = useSignal<IpRule | null>(null);

  async function create(input: IpRuleInput) {
    const { rule } = await post<{ rule: IpRule }>("/api/security/ip-rules", input);
    toast(`Added ${rule.action} rule for ${rule.cidr}.`);
    await list.reload();
  }

  async function update(input: IpRuleInput) {
    const target = editing.value;
    if (!target) return;
    const { rule } = await patch<{ rule: IpRule }>(rulePath(target.id), input);
    editing.value = null;
    toast(`Updated rule ${rule.cidr}.`);
    await list.reload();
  }

  return (
    <>
      <PageHeader title="IP rules">
        Limit where your organization's members can sign in from. When any allow rule exists, only matching addresses get in; deny rules always win.
      </PageHeader>
      <Alert>{list.error.value}</Alert>
      {canEditSecurity.value && (
        <section class="card" aria-labelledby="add-heading">
          <h2 id="add-heading">Add a rule</h2>
          <RuleForm submitLabel="Add rule" onSubmit={create} />
        </section>
      )}
      <section class="card" aria-labelledby="rules-heading">
        <h2 id="rules-heading">
          Rules {list.data.value && <span class="count">{list.data.value.rules.length}</span>}
        </h2>
        {list.loading.value && !list.data.value ? (
          <p class="empty" role="status">Loading rules…</p>
        ) : (
          <RulesTable rules={list.data.value?.rules ?? []} onEdit={(r) => (editing.value = r)} onDelete={(r) => (deleting.value = r)} />
        )}
      </section>
      <CheckAddress />
      {editing.value && (
        <Modal title={`Edit rule ${editing.value.cidr}`} onClose={() => (editing.value = null)}>
          <RuleForm initial={editing.value} submitLabel="Save changes" onSubmit={update} onCancel={() => (editing.value = null)} />
        </Modal>
      )}
      {deleting.value && (
        <ConfirmDialog
          title="Delete this rule?"
          confirmLabel="Delete rule"
          danger
          onClose={() => (deleting.value = null)}
          onConfirm={async () => {
            const r = deleting.value;
            if (!r) return;
            await del(rulePath(r.id));
            toast(`Deleted rule ${r.cidr}.`);
            await list.reload();
          }}
        >
          <p>
            The {deleting.value.action} rule for <span class="mono">{deleting.value.cidr}</span> stops applying immediately.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
