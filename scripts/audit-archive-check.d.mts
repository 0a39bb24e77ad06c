// Types of scripts/audit-archive-check.mjs, for the tests that run it.
export const ARCHIVE_FORMAT: string;
export const ANCHOR_FORMAT: string;
export const GENESIS_HASH: string;
export function canonicalJson(value: unknown): string;
export type CheckpointKeys = Map<string, CryptoKey>;
export function importCheckpointKeys(secret: string): Promise<CheckpointKeys>;
export type ArchiveProblem = { ok: false; reason: string; detail: string; seq?: number; index?: number };
export type ArchiveCheck =
  | { ok: true; tenantId: string; fromSeq: number; toSeq: number; prevHash: string; lastHash: string; rows: number; macChecked: boolean }
  | ArchiveProblem;
export type AnchorsCheck = { checked: number; pastArchives: number; beforeArchives: number; retiredKey: number; matchedThroughSeq: number | null; macChecked: boolean };
export type ArchivesCheck =
  | { ok: true; tenantId: string; fromSeq: number; toSeq: number; lastHash: string; objects: number; rows: number; overlapping: number[]; macChecked: boolean; anchors?: AnchorsCheck }
  | ArchiveProblem;
export function checkArchive(text: string, key?: CheckpointKeys | null): Promise<ArchiveCheck>;
/** `anchors`: anchor records (parsed JSON, as src/audit/anchors.ts writes them) to compare the archived chain with. */
export function checkArchives(texts: string[], key?: CheckpointKeys | null, options?: { allowLaterStart?: boolean; anchors?: unknown[] | null }): Promise<ArchivesCheck>;
