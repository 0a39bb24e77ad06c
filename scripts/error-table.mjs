// Renders the table of error codes in docs/errors.md from the one catalogue
// (src/error-catalogue.ts): `npm run docs:errors`. test/error-catalogue.test.ts fails
// while the two differ.
import { readFileSync, writeFileSync } from "node:fs";
import { ERROR_TABLE_END, ERROR_TABLE_START, errorTableMarkdown } from "../src/error-catalogue.ts";

const path = new URL("../docs/errors.md", import.meta.url);
const text = readFileSync(path, "utf8");
const start = text.indexOf(ERROR_TABLE_START);
const end = text.indexOf(ERROR_TABLE_END);
if (start < 0 || end < start) {
  console.error(`docs/errors.md has no table markers (${ERROR_TABLE_START} ... ${ERROR_TABLE_END})`);
  process.exit(1);
}
writeFileSync(path, text.slice(0, start) + errorTableMarkdown() + text.slice(end + ERROR_TABLE_END.length));
console.log("docs/errors.md: the table of error codes is the catalogue's");
