import { signal } from "@preact/signals";
import { ApiError } from "../api/client";
import type { StepUpChallenge } from "../api/types";

type Prompt = { challenge: StepUpChallenge; settle: (verified: boolean) => void };

/** The open step-up request, if any; the modal renders from it. */
export const stepUpPrompt = signal<Prompt | null>(null);
let open: { purpose: string; done: Promise<void> } | null = null;

/**
 * Called by the fetch layer on 428. Concurrent requests for the same purpose share
 * one modal, so the user verifies once and all of them replay.
 */
export async function requestStepUp(challenge: StepUpChallenge): Promise<void> {
  // A different purpose waits its turn: one modal at a time, and no promise left unsettled.
  while (open && open.purpose !== challenge.purpose) await open.done.catch(() => undefined);
  if (open) return open.done;
  const done = new Promise<void>((resolve, reject) => {
    stepUpPrompt.value = {
      challenge,
      settle: (verified) => {
        stepUpPrompt.value = null;
        open = null;
        if (verified) resolve();
        else reject(new ApiError(428, "STEP_UP_CANCELLED", "Verification cancelled; nothing was changed."));
      },
    };
  });
  open = { purpose: challenge.purpose, done };
  return done;
}
