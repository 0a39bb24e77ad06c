/**
 * Gateway mode: a plain HTML form that was refused for sign-in or step-up is sent to that
 * page with `notDone=1` (src/gateway/navigation.ts). Its action was not done, and its body
 * is gone: the page says so, so the user sends it again once back on the form's page.
 */
export function notDoneNotice(search: string, then: string): string | null {
  if (new URLSearchParams(search).get("notDone") !== "1") return null;
  return `What you just sent was not done. ${then}, you'll be back on its page: send it again there.`;
}
