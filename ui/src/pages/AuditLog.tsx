import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { get, query, send } from "../api/client";
import { AUDIT_ACTIONS, AUDIT_TARGET_TYPES, type AuditEntry, type AuditPage, type AuditVerify, type TeamMember } from "../api/types";
import { Alert } from "../components/Alert";
import { AuditRow, TARGET_LABELS, humanAction } from "../components/AuditRow";
import { PageHeader } from "../components/Layout";
import { saveFile } from "../lib/download";
import { describeError, isCancelled } from "../lib/errors";
import { FieldError, useFormFields } from "../lib/form";
import { useLoad } from "../lib/useLoad";
import { canViewTeam } from "../state/auth";

type Filters = { action: string; outcome: string; actorUserId: string; targetType: string; from: string; to: string; limit: string };
const EMPTY: Filters = { action: "", outcome: "", actorUserId: "", targetType: "", from: "", to: "", limit: "50" };
const PAGE_SIZES = ["10", "25", "50", "100"];
const iso = (local: string) => (local ? new Date(local).toISOString() : "");
// The export takes the same filters but has no pages.
const params = ({ limit: _limit, ...f }: Filters) => ({ ...f, from: iso(f.from), to: iso(f.to) });
const WHOLE_DATE = "Enter the whole date and time, or clear the field.";
/** A date field the browser holds half-typed: its value reads "" though the field is not empty. */
const halfTyped = (id: string) => (document.getElementById(id) as HTMLInputElement | null)?.validity.badInput === true;

/** The page's check of the date filters (the other filters are lists of allowed values). */
function dateProblems(f: Filters, ids: { from: string; to: string }) {
  return {
    from: halfTyped(ids.from) && WHOLE_DATE,
    to: halfTyped(ids.to) ? WHOLE_DATE : f.from && f.to && iso(f.to) < iso(f.from) && "Choose an end after the start.",
  };
}

function ChainStatus() {
  const v = useLoad(() => get<AuditVerify>("/api/audit-logs/verify"));
  const r = v.data.value;
  if (v.error.value) return <Alert>Could not verify the log: {v.error.value}</Alert>;
  if (!r) return <p class="chain chain-pending" role="status">Verifying the hash chain…</p>;
  return r.ok ? (
    <p class="chain chain-ok" role="status">
      ✓ Hash chain intact: {r.checked} {r.checked === 1 ? "entry" : "entries"} verified.
    </p>
  ) : (
    <p class="chain chain-broken" role="alert">
      ✗ Hash chain broken at entry #{r.firstBrokenSeq}: the log was altered after it was written. {r.checked} entries checked.
    </p>
  );
}

export function AuditLogPage() {
  const draft = useSignal<Filters>({ ...EMPTY });
  const applied = useSignal<Filters>({ ...EMPTY });
  const items = useSignal<AuditEntry[]>([]);
  const cursor = useSignal<string | null>(null);
  const loading = useSignal(false);
  const error = useSignal<string | null>(null);
  const productActions = useLoad(() => get<{ actions: string[] }>("/api/audit-logs/product-actions"));
  const form = useFormFields({ from: "f-from", to: "f-to" });
  const members = useLoad(() => (canViewTeam.value ? get<{ users: TeamMember[] }>("/api/users") : Promise.resolve({ users: [] })));

  const names = new Map((members.data.value?.users ?? []).map((u) => [u.id, u.displayName]));
  // Rows name people once the team list is in: until then the page says it is loading.
  const busy = loading.value || members.loading.value;
  const name = (id: string | null) => (id ? (names.get(id) ?? id) : "—");

  async function load(more: boolean) {
    loading.value = true;
    error.value = null;
    try {
      const page = await get<AuditPage>(`/api/audit-logs${query({ ...params(applied.value), limit: applied.value.limit, cursor: more ? cursor.value : null })}`);
      items.value = more ? [...items.value, ...page.items] : page.items;
      cursor.value = page.nextCursor;
    } catch (err) {
      if (!form.fromApi(err, { from: WHOLE_DATE, to: WHOLE_DATE })) error.value = describeError(err);
    } finally {
      loading.value = false;
    }
  }

  useEffect(() => {
    void load(false);
  }, [applied.value]);

  async function exportAs(format: "csv" | "ndjson") {
    try {
      const res = await send("GET", `/api/audit-logs/export${query({ ...params(applied.value), format })}`);
      saveFile(`gatehouse-audit.${format}`, await res.blob());
    } catch (err) {
      if (!isCancelled(err)) error.value = describeError(err);
    }
  }

  const set = (k: keyof Filters) => (e: Event) => {
    draft.value = { ...draft.value, [k]: (e.currentTarget as HTMLInputElement | HTMLSelectElement).value };
  };
  const d = draft.value;
  return (
    <>
      <PageHeader title="Audit log">Every sign-in, session change and security setting change in your organization, tamper-evident.</PageHeader>
      <ChainStatus />
      <section class="card" aria-labelledby="filters-heading">
        <h2 id="filters-heading" class="visually-hidden">
          Filters
        </h2>
        <form
          class="filters"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (form.check(dateProblems(draft.value, form.ids))) applied.value = { ...draft.value };
          }}
        >
          <div class="field">
            <label for="f-action">Action</label>
            <select id="f-action" value={d.action} onChange={set("action")}>
              <option value="">All actions</option>
              <optgroup label="Gatehouse">
                {AUDIT_ACTIONS.map((a) => (
                  <option key={a} value={a}>
                    {humanAction(a)}
                  </option>
                ))}
              </optgroup>
              {(productActions.data.value?.actions.length ?? 0) > 0 && (
                <optgroup label="Your product">
                  {productActions.data.value?.actions.map((a) => (
                    <option key={a} value={a}>
                      {a}
                    </option>
                  ))}
                </optgroup>
              )}
            </select>
          </div>
          <div class="field">
            <label for="f-outcome">Outcome</label>
            <select id="f-outcome" value={d.outcome} onChange={set("outcome")}>
              <option value="">Any</option>
              <option value="SUCCESS">Success</option>
              <option value="FAIL">Failure</option>
            </select>
          </div>
          <div class="field">
            <label for="f-actor">Actor</label>
            <select id="f-actor" value={d.actorUserId} onChange={set("actorUserId")}>
              <option value="">Anyone</option>
              {(members.data.value?.users ?? []).map((u) => (
                <option key={u.id} value={u.id}>
                  {u.displayName}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="f-target">Target type</label>
            <select id="f-target" value={d.targetType} onChange={set("targetType")}>
              <option value="">Any</option>
              {AUDIT_TARGET_TYPES.map((t) => (
                <option key={t} value={t}>
                  {TARGET_LABELS[t]}
                </option>
              ))}
            </select>
          </div>
          <div class="field field-wide">
            <label for="f-from">From</label>
            <input {...form.props("from")} type="datetime-local" value={d.from} onInput={set("from")} />
            <FieldError form={form} field="from" />
          </div>
          <div class="field field-wide">
            <label for="f-to">To</label>
            <input {...form.props("to")} type="datetime-local" value={d.to} onInput={set("to")} />
            <FieldError form={form} field="to" />
          </div>
          <div class="field">
            <label for="f-limit">Per page</label>
            <select id="f-limit" value={d.limit} onChange={set("limit")}>
              {PAGE_SIZES.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </div>
          <div class="filters-actions">
            <button type="submit" class="button button-primary">
              Apply filters
            </button>
            <button
              type="button"
              class="button"
              onClick={() => {
                form.clear();
                draft.value = { ...EMPTY };
                applied.value = { ...EMPTY };
              }}
            >
              Reset
            </button>
          </div>
        </form>
      </section>
      <section class="card" aria-labelledby="events-heading">
        <div class="card-head">
          <h2 id="events-heading">Events</h2>
          <div class="row">
            <button type="button" class="button button-small" onClick={() => exportAs("csv")}>
              Export CSV
            </button>
            <button type="button" class="button button-small" onClick={() => exportAs("ndjson")}>
              Export NDJSON
            </button>
          </div>
        </div>
        <Alert>{error.value}</Alert>
        {items.value.length === 0 && !busy ? (
          <p class="empty">No events match these filters.</p>
        ) : (
          <div class="table-wrap">
            <table class="table stack-on-mobile audit-table">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Target</th>
                  <th scope="col">
                    <span class="visually-hidden">Details</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.value.map((e) => (
                  <AuditRow key={e.id} entry={e} name={name} />
                ))}
              </tbody>
            </table>
          </div>
        )}
        <div class="load-more">
          {busy ? (
            <p role="status">Loading…</p>
          ) : (
            cursor.value && (
              <button type="button" class="button" onClick={() => load(true)}>
                Load more
              </button>
            )
          )}
        </div>
      </section>
    </>
  );
}
