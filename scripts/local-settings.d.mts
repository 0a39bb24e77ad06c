// Types of scripts/local-settings.mjs, for the tests that run it.
export const GATEWAY_SETTINGS: string[];
export const LOCAL_OPTIONS: string[];
export function parseDevVars(text: string): Map<string, string>;
export function localSettings(input: {
  env: Record<string, string | undefined>;
  devVars: Map<string, string>;
  declaredSecrets: string[];
  standalone: boolean;
  port: string | number;
}): { origin: "demo" | "url" | "none"; vars: Record<string, string> };
