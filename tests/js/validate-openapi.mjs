// Validates an OpenAPI document (JSON file) against the OpenAPI specification's own schema
// (3.0 or 3.1, by its `openapi` field) with @readme/openapi-parser, plus that library's checks
// beyond the schema (duplicate operationIds, path parameters declared and used, ...).
// node/tests/api/openapi.rs runs it on the node's /api/v1/openapi.json.
// Usage: node validate-openapi.mjs FILE
// Prints "valid <openapi version> <path count>" and exits 0, or prints the errors and exits 1.
import { readFileSync } from "node:fs";
import { compileErrors, validate } from "@readme/openapi-parser";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate-openapi.mjs FILE");
  process.exit(2);
}

const doc = JSON.parse(readFileSync(file, "utf8"));
const version = doc.openapi;
// validate() may dereference in place: give it a copy and keep the original for the summary.
const result = await validate(structuredClone(doc));
if (!result.valid) {
  console.error(compileErrors(result));
  process.exit(1);
}
if (result.warnings && result.warnings.length) {
  console.error(compileErrors(result));
}
console.log(`valid ${version} ${Object.keys(doc.paths ?? {}).length}`);
