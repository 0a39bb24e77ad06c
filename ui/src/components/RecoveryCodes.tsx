import { saveFile } from "../lib/download";
import { CopyButton } from "./CopyButton";
import { Alert } from "./Alert";
import { branding } from "../state/branding";

/** Shown exactly once after enrolment or regeneration: the server never returns them again. */
export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const text = `${branding.value.name} recovery codes\nEach code works once. Keep them somewhere safe.\n\n${codes.join("\n")}\n`;
  return (
    <section class="card recovery" aria-labelledby="recovery-heading">
      <h2 id="recovery-heading">Save your recovery codes</h2>
      <Alert tone="warning">
        These codes are shown only once. If you lose your authenticator app, a recovery code is the only way to sign in. Each code works once.
      </Alert>
      <ol class="code-grid" aria-label="Recovery codes">
        {codes.map((c) => (
          <li key={c} class="mono">
            {c}
          </li>
        ))}
      </ol>
      <div class="row">
        <CopyButton value={codes.join("\n")} what="Recovery codes" />
        <button type="button" class="button" onClick={() => saveFile("gatehouse-recovery-codes.txt", text)}>
          Download
        </button>
        <button type="button" class="button button-primary" onClick={onDone}>
          I have saved my codes
        </button>
      </div>
    </section>
  );
}
