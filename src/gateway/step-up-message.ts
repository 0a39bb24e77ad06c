/**
 * What the panel's step-up page (ui/src/pages/StepUp.tsx) posts to the product page that
 * framed it (client.js, src/gateway/client-module.ts), on the same origin only. Import-free:
 * the panel and the client module's text share it.
 */
export const STEP_UP_MESSAGE_TYPE = "gatehouse:step-up";

export type StepUpMessage = { type: typeof STEP_UP_MESSAGE_TYPE; purpose: string; verified: boolean; enroll?: true };
