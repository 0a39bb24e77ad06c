import { now } from "../state/clock";

const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 31536000],
  ["month", 2592000],
  ["week", 604800],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];

export function relative(ms: number, nowMs: number): string {
  const diff = (ms - nowMs) / 1000;
  // Server stamps can be a moment ahead of this tab's clock: never say "in a moment".
  if (Math.abs(diff) < 45) return "just now";
  for (const [unit, secs] of UNITS) {
    if (Math.abs(diff) >= secs || unit === "minute") return rtf.format(Math.round(diff / secs), unit);
  }
  return "just now";
}

export function exact(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "long" });
}

/** Relative for scanning, exact on hover (title) and for machines (datetime). */
export function RelativeTime({ iso }: { iso: string }) {
  return (
    <time dateTime={iso} title={exact(iso)}>
      {relative(Date.parse(iso), now.value)}
    </time>
  );
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}:${sec}`;
}
