import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Plugin } from "vite";

/**
 * Prints the gzip size of the panel's JavaScript after every build, because the
 * budget is a product promise (issue 7: at most 30 KB gzip), not a vague aim.
 */
export function sizeReport({ budgetKb }: { budgetKb: number }): Plugin {
  let report = "";
  return {
    name: "gatehouse-size-report",
    apply: "build",
    // After writing, and from disk: the exact bytes that ship, after every transform.
    writeBundle(options, bundle) {
      let total = 0;
      const lines: string[] = [];
      for (const file of Object.values(bundle)) {
        if (file.type !== "chunk") continue;
        const bytes = readFileSync(join(options.dir ?? ".", file.fileName));
        const gz = gzipSync(bytes).length;
        total += gz;
        lines.push(`  ${file.fileName}  ${(bytes.length / 1000).toFixed(1)} kB raw, ${(gz / 1000).toFixed(1)} kB gzip`);
      }
      const verdict = total <= budgetKb * 1000 ? "within" : "OVER";
      report = `\nPanel JavaScript:\n${lines.join("\n")}\n  total ${(total / 1000).toFixed(1)} kB gzip (${verdict} the ${budgetKb} kB budget)\n`;
    },
    // Printed last, after Vite's own file table, so it is the line people see.
    closeBundle() {
      if (report) console.log(report);
    },
  };
}
