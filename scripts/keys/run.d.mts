// Types of scripts/keys/run.mjs, for the tests that drive it (test/keys-command.test.ts).
export declare const USAGE: string;
export type KeysIo = {
  readStdin(): Promise<string>;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  now: Date;
  writeTokenFile(path: string, token: string): void | Promise<void>;
  put(name: string, text: string, env: string | null): { ok: true } | { ok: false; message: string } | Promise<{ ok: true } | { ok: false; message: string }>;
};
export declare function runKeys(args: string[], io: KeysIo): Promise<{ code: number; stdout: string; stderr: string }>;
