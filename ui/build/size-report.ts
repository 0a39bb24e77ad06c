import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Plugin } from "vite";

/**
 * Prints the gzip size of the panel's JavaScript after every build, because the budget is
 * a product promise, not a vague aim. The budget is what every visit loads: the entry
 * chunk and the chunks it imports. Chunks loaded on demand (`import()`: the passkey
 * library, the Passkeys card) are listed and totalled apart.
 */
export function sizeReport({ budgetKb }: { budgetKb: number }): Plugin {
  let report = "";
  return {
    name: "gatehouse-size-report",
    apply: "build",
    // After writing, and from disk: the exact bytes that ship, after every transform.
    writeBundle(options, bundle) {
      const chunks = Object.values(bundle).filter((file) => file.type === "chunk");
      // The entry and, transitively, what it imports statically: loaded at start.
      const atStart = new Set(chunks.filter((c) => c.isEntry).map((c) => c.fileName));
      for (const name of atStart) for (const imported of chunks.find((c) => c.fileName === name)?.imports ?? []) atStart.add(imported);
      const totals = { start: 0, onDemand: 0 };
      const lines: string[] = [];
      for (const file of chunks) {
        const bytes = readFileSync(join(options.dir ?? ".", file.fileName));
        const gz = gzipSync(bytes).length;
        const start = atStart.has(file.fileName);
        totals[start ? "start" : "onDemand"] += gz;
        lines.push(`  ${file.fileName}  ${(bytes.length / 1000).toFixed(1)} kB raw, ${(gz / 1000).toFixed(1)} kB gzip${start ? "" : " (on demand)"}`);
      }
      const verdict = totals.start <= budgetKb * 1000 ? "within" : "OVER";
      report =
        `\nPanel JavaScript:\n${lines.join("\n")}\n` +
        `  loaded at start ${(totals.start / 1000).toFixed(1)} kB gzip (${verdict} the ${budgetKb} kB budget); on demand ${(totals.onDemand / 1000).toFixed(1)} kB more\n`;
    },
    // Printed last, after Vite's own file table, so it is the line people see.
    closeBundle() {
      if (report) console.log(report);
    },
  };
}
