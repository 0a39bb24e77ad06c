// Runs the client module's text (src/gateway/client-module.ts) against a fake page: fetch,
// location, document and window messages are the test's, so its logic can be driven.
import { CLIENT_MODULE } from "../src/gateway/client-module";

type Listener = (event: { origin: string; source: unknown; data: unknown }) => void;

export type FakeDialog = { frame: { src: string; contentWindow: object }; answer(message: { origin?: string; source?: unknown; data: unknown }): void };

export type ClientModule = {
  gatehouseFetch(input: string, init?: RequestInit): Promise<Response>;
  stepUp(purpose: string): Promise<boolean>;
  signOut(): Promise<void>;
};

export const PAGE_ORIGIN = "https://app.example";

/** The module with `fetch` and `onDialog` (called as each step-up dialog opens) supplied by the test. */
export function loadClientModule(options: { fetch: (request: Request | string, init?: RequestInit) => Promise<Response>; onDialog: (dialog: FakeDialog) => void }): ClientModule & { assigned: string[] } {
  const listeners = new Set<Listener>();
  const assigned: string[] = [];
  const location = { origin: PAGE_ORIGIN, pathname: "/app", search: "", assign: (url: string) => assigned.push(url) };
  const element = (tag: string) => {
    const own = new Map<string, () => void>();
    return {
      tag,
      style: {},
      open: false,
      src: "",
      title: "",
      contentWindow: {},
      append() {},
      remove() {},
      focus() {},
      close() {
        this.open = false;
      },
      addEventListener(type: string, fn: () => void) {
        own.set(type, fn);
      },
      showModal() {},
    };
  };
  let frame: ReturnType<typeof element> | null = null;
  const document = {
    createElement(tag: string) {
      const made = element(tag);
      if (tag === "iframe") frame = made;
      if (tag === "dialog") {
        made.showModal = () => {
          made.open = true;
          const opened = frame;
          if (!opened) throw new Error("no frame");
          options.onDialog({
            frame: opened,
            answer: ({ origin = PAGE_ORIGIN, source = opened.contentWindow, data }) => {
              for (const listener of [...listeners]) listener({ origin, source, data });
            },
          });
        };
      }
      return made;
    },
    body: { append() {} },
  };
  const body = CLIENT_MODULE.replace(/^export /gm, "").replaceAll("import.meta.url", `"${PAGE_ORIGIN}/_gatehouse/client.js"`);
  const factory = new Function("fetch", "location", "document", "addEventListener", "removeEventListener", `${body}\nreturn { gatehouseFetch, stepUp, signOut };`) as (...args: unknown[]) => ClientModule;
  const module = factory(
    options.fetch,
    location,
    document,
    (_type: string, fn: Listener) => listeners.add(fn),
    (_type: string, fn: Listener) => listeners.delete(fn),
  );
  return { ...module, assigned };
}
