/** The audit stream's presets (./presets.ts), import-free: the table, the API and the panel share them. */
export const STREAM_PRESETS = ["splunk_hec", "datadog", "ndjson"] as const;
export type StreamPreset = (typeof STREAM_PRESETS)[number];
