/**
 * The API reference: the document (src/openapi/document.ts) as one server-rendered page,
 * its operations grouped by tag, each with its credential, step-up purpose, permission,
 * parameters, request body schema and error codes. Plain HTML: no script, no style, no
 * request of its own, so it renders under the API's own headers (`default-src 'none'`).
 */
import { ERRORS_EXTENSION, PERMISSION_EXTENSION, ROLE_EXTENSION, STEP_UP_EXTENSION } from "./notes";
import type { ApiDocument } from "./document";

type Operation = Record<string, unknown> & {
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name?: string; in?: string; required?: boolean }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
};

const escape = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const listOf = (value: unknown) => (Array.isArray(value) ? value.join(", ") : String(value));

function facts(op: Operation): string[] {
  const credentials = (op.security ?? []).flatMap((requirement) => Object.keys(requirement));
  const rows: [string, unknown][] = [
    ["Credential", credentials.length ? credentials.join(" or ") : "none (public)"],
    ["Step-up purpose", op[STEP_UP_EXTENSION]],
    ["Permission", op[PERMISSION_EXTENSION]],
    ["Role", op[ROLE_EXTENSION]],
    ["Parameters", op.parameters?.length ? op.parameters.map((p) => `${p.name} (${p.in}${p.required ? ", required" : ""})`) : undefined],
    ["Errors", (op[ERRORS_EXTENSION] as string[] | undefined)?.length ? op[ERRORS_EXTENSION] : undefined],
  ];
  return rows.filter(([, value]) => value !== undefined).map(([name, value]) => `<dt>${name}</dt><dd>${escape(listOf(value))}</dd>`);
}

function operationSection(method: string, path: string, op: Operation): string {
  const body = Object.entries(op.requestBody?.content ?? {})
    .map(([media, { schema }]) => `<p>Request body (${escape(media)}):</p><pre>${escape(JSON.stringify(schema, null, 2))}</pre>`)
    .join("");
  return `<details><summary><code>${method.toUpperCase()} ${escape(path)}</code></summary><dl>${facts(op).join("")}</dl>${body}</details>`;
}

/** The page, from the document (its paths under its server's, the Gatehouse path) and where the document itself is served. */
export function referencePage(document: ApiDocument, documentUrl: string): string {
  const base = document.servers?.[0]?.url ?? "";
  const byTag = new Map<string, string[]>();
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, op] of Object.entries(item ?? {}) as [string, Operation][]) {
      const tag = op.tags?.[0] ?? "other";
      byTag.set(tag, [...(byTag.get(tag) ?? []), operationSection(method, `${base}${path}`, op)]);
    }
  }
  const sections = [...byTag].sort(([a], [b]) => a.localeCompare(b)).map(([tag, ops]) => `<section><h2>${escape(tag)}</h2>${ops.join("")}</section>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(document.info.title)} reference</title></head>
<body><main><h1>${escape(document.info.title)}</h1><p>${escape(document.info.description ?? "")}</p>
<p>The machine-readable document: <a href="${escape(documentUrl)}">${escape(documentUrl)}</a> (OpenAPI ${escape(document.openapi)}).</p>
${sections.join("\n")}</main></body></html>`;
}
