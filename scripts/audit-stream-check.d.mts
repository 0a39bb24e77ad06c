// Types of scripts/audit-stream-check.mjs, for the tests that run it.
import type { ArchivesCheck } from "./audit-archive-check.mjs";
export function rowsOfBody(text: string): { seq: number; hash: string; prevHash: string; tenantId: string; [key: string]: unknown }[];
export function checkStreamCopy(bodies: string[], options?: { allowLaterStart?: boolean }): Promise<ArchivesCheck | { ok: false; reason: "FORK" | "EMPTY"; detail: string; seq?: number }>;
