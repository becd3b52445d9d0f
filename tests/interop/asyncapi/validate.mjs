// Validate an AsyncAPI document with the official parser (@asyncapi/parser): the AsyncAPI
// JSON Schema of its version, the schemas of its messages (relative $refs resolved from the
// document's directory) and the parser's own rules.
//
//   node validate.mjs <document>   # prints one JSON line per diagnostic; exit 1 on any error
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const path = process.argv[2];
if (!path) {
  console.error("usage: node validate.mjs <asyncapi document>");
  process.exit(2);
}
const absolute = resolve(path);
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(absolute, "utf8"), {
  source: pathToFileURL(absolute).href,
  validateOptions: { allowedSeverity: { warning: true, info: true, hint: true } },
});
const names = Object.fromEntries(Object.entries(DiagnosticSeverity).map(([k, v]) => [v, k]));
for (const d of diagnostics) {
  console.log(JSON.stringify({
    severity: names[d.severity] ?? String(d.severity),
    code: d.code,
    message: d.message,
    path: d.path,
  }));
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
if (errors.length > 0 || document === undefined) {
  console.error(`${errors.length} error(s): ${path} is not a valid AsyncAPI document`);
  process.exit(1);
}
console.error(`${path}: valid AsyncAPI ${document.version()}, ` +
  `${document.channels().length} channels, ${document.operations().length} operations, ` +
  `${document.allMessages().length} messages`);
