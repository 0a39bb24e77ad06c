import { useSignal } from "@preact/signals";
import { del, get, post, put } from "../api/client";
import type { AuditStreamInput, AuditStreamView, StreamPreset } from "../api/types";
import { Alert } from "../components/Alert";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { PageHeader } from "../components/Layout";
import { RelativeTime } from "../components/Time";
import { describeError } from "../lib/errors";
import { FieldError, useFormFields } from "../lib/form";
import { useAction } from "../lib/useAction";
import { useLoad } from "../lib/useLoad";
import { toast } from "../state/toast";

/**
 * The organisation's audit stream to its SIEM (docs/audit-streaming.md): owners only. Shows
 * where delivery stands (last delivered seq, lag, last error) and offers pause, resume,
 * replay from a seq and removal; every change asks for step-up (AUDIT_STREAM_CHANGE).
 */
export function AuditStreamPage() {
  const loaded = useLoad(() => get<{ stream: AuditStreamView | null }>("/api/tenant/audit-stream"));
  const stream = loaded.data.value?.stream ?? null;
  const editing = useSignal(false);
  return (
    <>
      <PageHeader title="Audit stream">
        Send every event of your organization's audit log to your SIEM as it happens: Splunk, Datadog or any HTTPS endpoint that takes NDJSON. Each event keeps its
        place in the tamper-evident chain, so your copy can be verified.
      </PageHeader>
      <Alert>{loaded.error.value}</Alert>
      {loaded.loading.value && !loaded.data.value && <p class="empty" role="status">Loading…</p>}
      {loaded.data.value && (editing.value || !stream) && (
        <StreamForm stream={stream} onDone={async () => ((editing.value = false), await loaded.reload())} onCancel={stream ? () => (editing.value = false) : null} />
      )}
      {stream && !editing.value && <StreamCard stream={stream} reload={loaded.reload} onEdit={() => (editing.value = true)} />}
    </>
  );
}

const PRESETS: Record<StreamPreset, { label: string; placeholder: string; token: string }> = {
  splunk_hec: { label: "Splunk (HTTP Event Collector)", placeholder: "https://splunk.example.com:8088/services/collector/event", token: "HEC token" },
  datadog: { label: "Datadog logs", placeholder: "https://http-intake.logs.datadoghq.com/api/v2/logs", token: "Datadog API key" },
  ndjson: { label: "Any HTTPS endpoint (NDJSON)", placeholder: "https://siem.example.com/ingest", token: "Bearer token" },
};

function StreamForm({ stream, onDone, onCancel }: { stream: AuditStreamView | null; onDone: () => Promise<void>; onCancel: (() => void) | null }) {
  const form = useSignal<AuditStreamInput>({ preset: stream?.preset ?? "splunk_hec", url: stream?.url ?? "", token: "" });
  const set = (p: Partial<AuditStreamInput>) => (form.value = { ...form.value, ...p });
  const fields = useFormFields({ url: "stream-url", token: "stream-token" });
  const words = { url: "Enter the endpoint's address, starting with https://.", token: "Enter the token your SIEM gave you." };
  const save = useAction(
    async () => {
      const { token, ...rest } = form.value;
      await put("/api/tenant/audit-stream", { ...rest, ...(token ? { token } : {}) });
      toast(stream ? "Audit stream saved." : "Audit stream set up: your audit log is on its way.");
      await onDone();
    },
    { onError: (err) => void (fields.fromApi(err, words) || (save.error.value = describeError(err))) },
  );
  function submit(e: Event) {
    e.preventDefault();
    const f = form.value;
    if (fields.check({ url: !f.url.trim() && words.url, token: !stream && !f.token && words.token })) void save.run();
  }
  const preset = PRESETS[form.value.preset];
  return (
    <section class="card" aria-labelledby="stream-form-heading">
      <h2 id="stream-form-heading">{stream ? "Edit the stream" : "Set up a stream"}</h2>
      <form class="stack" onSubmit={submit} noValidate>
        <div class="field">
          <label for="stream-preset">Destination</label>
          <select id="stream-preset" value={form.value.preset} onChange={(e) => set({ preset: e.currentTarget.value as StreamPreset })}>
            {(Object.keys(PRESETS) as StreamPreset[]).map((p) => (
              <option key={p} value={p}>
                {PRESETS[p].label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="stream-url">Endpoint URL</label>
          <input {...fields.props("url", "stream-url-hint")} type="url" class="mono" placeholder={preset.placeholder} value={form.value.url} onInput={(e) => set({ url: e.currentTarget.value })} />
          <p id="stream-url-hint" class="hint">HTTPS only. Redirects are not followed: enter the final address.</p>
          <FieldError form={fields} field="url" />
        </div>
        <div class="field">
          <label for="stream-token">{preset.token}</label>
          <input
            {...fields.props("token")}
            type="password"
            autoComplete="off"
            placeholder={stream ? `Saved (…${stream.tokenHint}): leave empty to keep it` : ""}
            value={form.value.token ?? ""}
            onInput={(e) => set({ token: e.currentTarget.value })}
          />
          <FieldError form={fields} field="token" />
        </div>
        <Alert>{save.error.value}</Alert>
        <div class="row">
          <button type="submit" class="button button-primary" aria-disabled={save.busy.value}>
            {save.busy.value ? "Saving…" : "Save"}
          </button>
          {onCancel && (
            <button type="button" class="button" onClick={onCancel}>
              Cancel
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

type Confirming = "pause" | "resume" | "replay" | "remove" | null;

function StreamCard({ stream, reload, onEdit }: { stream: AuditStreamView; reload: () => Promise<void>; onEdit: () => void }) {
  const confirming = useSignal<Confirming>(null);
  const fromSeq = useSignal("1");
  const s = stream.state;
  const path = `/api/tenant/audit-stream/${encodeURIComponent(stream.id)}`;
  const status = stream.paused ? (
    <span class="badge badge-neutral">Paused</span>
  ) : s && s.failures > 0 ? (
    <span class="badge badge-red">Failing</span>
  ) : s && s.lag > 0 ? (
    <span class="badge badge-amber">Catching up</span>
  ) : (
    <span class="badge badge-green">Up to date</span>
  );
  async function act(which: Exclude<Confirming, null>) {
    if (which === "remove") await del(path);
    else if (which === "replay") await post(`${path}/replay`, { fromSeq: Number(fromSeq.value) });
    else await post(`${path}/${which}`);
    toast({ pause: "Audit stream paused.", resume: "Audit stream resumed.", replay: `Replaying from event ${fromSeq.value}.`, remove: "Audit stream removed." }[which]);
    await reload();
  }
  return (
    <section class="card" aria-labelledby="stream-heading">
      <h2 id="stream-heading">
        {PRESETS[stream.preset].label} {status}
      </h2>
      <dl class="facts">
        <dt>Endpoint</dt>
        <dd class="mono">{stream.url}</dd>
        <dt>Token</dt>
        <dd class="mono">…{stream.tokenHint}</dd>
        {s && (
          <>
            <dt>Last delivered</dt>
            <dd>
              event {s.lastDeliveredSeq} of {s.headSeq}
              {s.lastDeliveredAt && (
                <>
                  , <RelativeTime iso={s.lastDeliveredAt} />
                </>
              )}
            </dd>
            <dt>Behind by</dt>
            <dd>{s.lag === 1 ? "1 event" : `${s.lag} events`}</dd>
            <dt>Last error</dt>
            <dd>
              {s.lastError ? (
                <>
                  <span class="mono">{s.lastError.summary}</span>
                  {s.lastError.at && (
                    <>
                      {" "}
                      (<RelativeTime iso={s.lastError.at} />)
                    </>
                  )}
                  {s.failures > 0 && s.nextAttemptAt && (
                    <>
                      ; {s.failures} failed {s.failures === 1 ? "attempt" : "attempts"}, next <RelativeTime iso={s.nextAttemptAt} />
                    </>
                  )}
                </>
              ) : (
                "none"
              )}
            </dd>
          </>
        )}
      </dl>
      <div class="row">
        {stream.paused ? (
          <button type="button" class="button button-primary" onClick={() => (confirming.value = "resume")}>
            Resume
          </button>
        ) : (
          <button type="button" class="button" onClick={() => (confirming.value = "pause")}>
            Pause
          </button>
        )}
        <button type="button" class="button" onClick={() => (confirming.value = "replay")}>
          Replay…
        </button>
        <button type="button" class="button" onClick={onEdit}>
          Edit
        </button>
        <button type="button" class="button button-danger-outline" onClick={() => (confirming.value = "remove")}>
          Remove
        </button>
      </div>
      {confirming.value && (
        <ConfirmDialog
          title={{ pause: "Pause the audit stream?", resume: "Resume the audit stream?", replay: "Replay events?", remove: "Remove the audit stream?" }[confirming.value]}
          confirmLabel={{ pause: "Pause", resume: "Resume", replay: "Replay", remove: "Remove" }[confirming.value]}
          danger={confirming.value === "remove"}
          onClose={() => (confirming.value = null)}
          onConfirm={() => act(confirming.value as Exclude<Confirming, null>)}
        >
          {confirming.value === "replay" ? (
            <div class="field">
              <label for="stream-replay-from">Send again from event number</label>
              <input id="stream-replay-from" type="number" min={1} max={s ? s.headSeq + 1 : undefined} value={fromSeq.value} onInput={(e) => (fromSeq.value = e.currentTarget.value)} />
              <p class="hint">Your SIEM receives these events again (each keeps its number, so duplicates can be dropped).</p>
            </div>
          ) : (
            <p>
              {
                {
                  pause: "Nothing is sent until you resume; events keep being recorded and are sent then.",
                  resume: "Sending continues from the last event your SIEM accepted.",
                  remove: "Nothing more is sent. Your SIEM keeps what it received.",
                }[confirming.value]
              }
            </p>
          )}
        </ConfirmDialog>
      )}
    </section>
  );
}
