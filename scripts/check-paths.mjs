// Every repository path a comment or a doc names exists (one of the first steps of `npm test`).
//
// Scans the comments of .ts/.tsx/.mts/.mjs files (parsed with @babel/parser, so strings,
// templates and regular expressions are never mistaken for comments; TypeScript 7, the
// project's compiler, has no parser to call from JavaScript) and the whole text of
// .md files for paths under the repository's top folders (src/, test/, scripts/, docs/,
// bench/, e2e/, examples/, migrations/, ui/). A path resolves from the repository root or
// from the project folder holding the file (the nearest folder with a package.json or
// tsconfig.json, e.g. examples/acme-notes). Tolerated explicitly:
//   - globs (`*`, `**`, `{a,b}`): they must match at least one file;
//   - placeholders (`<feature>`, `...`): not checked;
//   - what .gitignore names (build and run outputs such as bench/results/*.json).
// Fails with file:line of each path that does not exist.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "@babel/parser";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const TOP_FOLDERS = ["src", "test", "scripts", "docs", "bench", "e2e", "examples", "migrations", "ui"];
const CODE = new Set([".ts", ".tsx", ".mts", ".mjs"]);
const SKIP_DIRS = new Set([".git", "node_modules"]);

// A top folder, a slash, then path characters (a `{a,b}` group may hold commas); not when
// it continues a longer path, a URL or a package name (`pkg/src/x`, `https://h/docs/x`).
const PATH = new RegExp(String.raw`(?<![\w./@:-])((?:${TOP_FOLDERS.join("|")})/(?:[\w.*<>/-]|\{[^}\s]*\})*)`, "g");
const NAMES_A_PATH = new RegExp(PATH.source);

/** .gitignore's patterns as tests on a repository-relative path (the simple forms it uses). */
function ignoredPaths() {
  const text = existsSync(join(ROOT, ".gitignore")) ? readFileSync(join(ROOT, ".gitignore"), "utf8") : "";
  const tests = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#") && !l.startsWith("!"))
    .map((pattern) => {
      const dir = pattern.endsWith("/");
      const body = globSource(pattern.replace(/\/$/, "").replace(/^\//, ""));
      const anchored = pattern.replace(/\/$/, "").includes("/");
      return new RegExp(`${anchored ? "^" : "(?:^|/)"}${body}${dir ? "(?:/|$)" : "$"}`);
    });
  return (path) => tests.some((t) => t.test(path));
}

function globSource(glob) {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (glob.startsWith("**/", i)) {
      out += "(?:.*/)?";
      i += 2;
    } else if (glob.startsWith("**", i)) {
      out += ".*";
      i += 1;
    } else if (ch === "*") out += "[^/]*";
    else if (ch === "{") {
      const end = glob.indexOf("}", i);
      out += `(?:${glob.slice(i + 1, end).split(",").map(globSource).join("|")})`;
      i = end;
    } else out += ch.replace(/[.+?^$()|[\]\\]/g, "\\$&");
  }
  return out;
}

function walk(dir, isIgnored, files = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    const rel = relative(ROOT, full).split(sep).join("/");
    if (SKIP_DIRS.has(entry.name) || isIgnored(rel)) continue;
    if (entry.isDirectory()) walk(full, isIgnored, files);
    else files.push(rel);
  }
  return files;
}

/** The comments of a source file, each with the line it starts on. */
function commentsOf(path, text) {
  // `<T>(x)` is a cast in .ts and an element in .tsx: JSX only where the extension says so.
  const dts = /\.d\.m?ts$/.test(path);
  const plugins = path.endsWith(".tsx") ? ["typescript", "jsx"] : path.endsWith(".mjs") ? [] : [["typescript", { dts }]];
  const { comments } = parse(text, { sourceType: "module", plugins, errorRecovery: false, sourceFilename: path });
  return comments.map((c) => ({ line: c.loc.start.line, text: text.slice(c.start, c.end) }));
}

/** The text to scan, in pieces that each know their first line. */
function piecesOf(path, text) {
  if (!CODE.has(extname(path))) return [{ line: 1, text }];
  // Parsing is the slow part: only files that name a path somewhere are parsed.
  return NAMES_A_PATH.test(text) ? commentsOf(path, text) : [];
}

/** The folder a file's relative paths may start from besides the root: its project's. */
function projectOf(path) {
  for (let dir = dirname(path); dir !== "." && dir !== ""; dir = dirname(dir)) {
    if (existsSync(join(ROOT, dir, "package.json")) || existsSync(join(ROOT, dir, "tsconfig.json"))) return dir;
  }
  return null;
}

/** A path exists, is a build or run output (.gitignore), or is a glob that matches a file. */
function resolves(path, files, isIgnored) {
  if (isIgnored(path)) return true;
  if (!/[*{]/.test(path)) return existsSync(join(ROOT, path));
  const glob = new RegExp(`^${globSource(path.replace(/\/$/, ""))}(?:/.*)?$`);
  return files.some((f) => glob.test(f));
}

export function checkPaths() {
  const isIgnored = ignoredPaths();
  const files = walk(ROOT, isIgnored);
  const scanned = files.filter((f) => CODE.has(extname(f)) || f.endsWith(".md"));
  const missing = [];
  let named = 0;
  for (const file of scanned) {
    const project = projectOf(file);
    const bases = project ? ["", `${project}/`] : [""];
    for (const piece of piecesOf(file, readFileSync(join(ROOT, file), "utf8"))) {
      for (const match of piece.text.matchAll(PATH)) {
        // Sentence punctuation after a path is not part of it.
        const path = match[1].replace(/[.:]+$/, "");
        if (path.includes("<") || path.includes("...")) continue;
        named++;
        if (!bases.some((base) => resolves(base + path, files, isIgnored))) {
          const line = piece.line + piece.text.slice(0, match.index).split("\n").length - 1;
          missing.push(`${file}:${line}: ${path}`);
        }
      }
    }
  }
  return { scanned: scanned.length, named, missing };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { scanned, named, missing } = checkPaths();
  if (missing.length > 0) {
    console.error(`check-paths: ${missing.length} path(s) named in comments or docs do not exist:\n${missing.map((m) => `  ${m}`).join("\n")}`);
    process.exit(1);
  }
  console.log(`check-paths: ${named} paths named in ${scanned} files, all exist`);
}
