// Loads a case document saved by the Rust node (node/src/doc.rs) with the JavaScript Automerge
// package and prints, as one JSON object, the fields node/tests/js_interop.rs checks.
// Usage: node load_case.mjs FILE
//
// What JavaScript sees of the layout: strings are scalar strings, which @automerge/automerge 3.x
// returns as ImmutableString objects (plain JS strings would mean collaborative Text objects);
// integers are Int, returned as numbers (a Uint would come back as a BigInt).
import { readFileSync } from "node:fs";
import * as Automerge from "@automerge/automerge";

const file = process.argv[2];
if (!file) {
  console.error("usage: node load_case.mjs FILE");
  process.exit(2);
}

const doc = Automerge.load(new Uint8Array(readFileSync(file)));

// Every value read through `str` must be a scalar string; anything else is reported.
const notScalar = [];
const str = (value, path) => {
  if (Automerge.isImmutableString(value)) {
    return value.toString();
  }
  notScalar.push(`${path}: ${typeof value}`);
  return String(value);
};
const num = (value, path) => {
  if (typeof value !== "number") {
    notScalar.push(`${path}: ${typeof value}, not a number`);
  }
  return Number(value);
};

const header = doc.header;
const result = {
  layout: num(doc.layout, "layout"),
  doc_type: str(doc.doc_type, "doc_type"),
  number: str(header.number, "header.number"),
  applicant_name: str(header.applicant.name, "header.applicant.name"),
  applicant_id_kind: str(header.applicant.id.kind, "header.applicant.id.kind"),
  item_code: str(header.item.code, "header.item.code"),
  materials: header.item.materials.length,
  events: doc.events.length,
  event_ids: doc.events.map((e, i) => str(e.id, `events[${i}].id`)),
  event_kinds: doc.events.map((e, i) => str(e.kind.kind, `events[${i}].kind.kind`)),
  wall_ms: doc.events.map((e, i) => num(e.hlc.wall_ms, `events[${i}].hlc.wall_ms`)),
  heads: Automerge.getHeads(doc),
  not_scalar: notScalar,
};
console.log(JSON.stringify(result));
