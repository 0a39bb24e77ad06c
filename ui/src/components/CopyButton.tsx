import { copyText } from "../lib/download";
import { toast } from "../state/toast";

/** Copies `value`, and says whether it worked: `what` names it ("Recovery codes"). */
export function CopyButton({ value, what, small = false }: { value: string; what: string; small?: boolean }) {
  async function copy() {
    if (await copyText(value)) toast(`${what} copied.`);
    else toast(`Copy failed: select the ${what.toLowerCase()} and copy by hand.`, "error");
  }
  return (
    <button type="button" class={small ? "button button-small" : "button"} onClick={copy}>
      Copy
    </button>
  );
}
