/**
 * CSV per RFC 4180 (quotes doubled, fields with comma, quote or line breaks quoted,
 * CRLF line ends), with spreadsheet formula injection neutralised (OWASP "CSV
 * Injection"): a cell starting with = + - @ tab or CR gets a leading apostrophe.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = typeof value === "object" ? JSON.stringify(value) : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(values: unknown[]): string {
  return `${values.map(csvCell).join(",")}\r\n`;
}
