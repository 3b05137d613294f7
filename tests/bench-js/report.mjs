// Writes the tables of scripts/bench.sh into docs/BENCHMARKS.md, between the markers
// `<!-- bench.sh: begin -->` and `<!-- bench.sh: end -->` (the prose around them is written by
// hand after looking at the numbers).
//
//   node report.mjs --results results.jsonl --doc docs/BENCHMARKS.md --command "..." \
//     --machine "..." --commit abc1234

import fs from "node:fs"

const arg = name => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const rows = fs
  .readFileSync(arg("--results"), "utf8")
  .split("\n")
  .filter(Boolean)
  .map(l => JSON.parse(l))
const get = (system, phase) => rows.find(r => r.system === system && r.phase === phase)

const secs = s => (s === undefined ? "—" : s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(s < 10 ? 2 : 1)} s`)
const num = n => (n === undefined ? "—" : Math.round(n).toLocaleString("en-US"))
const bytes = b => (b === undefined ? "—" : b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : `${(b / 1e3).toFixed(1)} KB`)
const mib = k => (k === undefined ? "—" : `${(k / 1024).toFixed(0)} MiB`)
const ratio = (x, y) => (x === undefined || y === undefined || y === 0 ? "—" : `${(x / y).toFixed(2)}×`)

const exp = get("documents", "export")
const n = exp?.docs
const lines = []
const say = l => lines.push(l)
say(`Command: \`${arg("--command")}\`; commit ${arg("--commit")}; ${arg("--machine")}; measured ${arg("--date")}.`)
say("")
say(
  `The documents: ${num(n)} cases (\`CaseFactory\`, five events), exported once as Automerge \`save()\` bytes ` +
    `(${bytes(exp?.bytes)}, ${num(exp?.bytes / n)} B each); ${exp?.changed} of them then changed by one event each ` +
    `(the changes: ${bytes(exp?.change_bytes)}).`,
)
say("")

// Bootstrap.
const yb = get("yikou", "bootstrap")
const jb = get("automerge-repo", "bootstrap")
const ab = get("automerge", "bootstrap")
const sb = get("automerge-save-load", "bootstrap")
say(`#### Bootstrap: ${num(n)} documents to an empty peer`)
say("")
say(
  "| | (a) Yikou: two nodes, QUIC | (b) automerge-repo: two Node.js processes, WebSocket | (c) Automerge sync protocol in one process (the limit) | Automerge `save()` + `load()` in one process |",
)
say("|---|---|---|---|---|")
const jbDone = jb ? (jb.complete ? `${num(jb.done)}` : `**${num(jb.done)} of ${num(jb.docs)}** (stopped at the ${jb.limit_secs} s limit)`) : "not run"
say(`| documents synced | ${num(yb?.done)} | ${jbDone} | ${num(ab?.done)} | ${num(sb?.done)} |`)
say(`| time | **${secs(yb?.secs)}** | **${secs(jb?.secs)}** | **${secs(ab?.secs)}** | ${secs(sb?.secs)} |`)
const rate = r => (r ? num(r.done / r.secs) : "—")
say(`| documents per second | ${rate(yb)} | ${rate(jb)} | ${rate(ab)} | ${rate(sb)} |`)
say(
  `| bytes on the wire | ${bytes(yb?.bytes)} frames; ${bytes(yb?.udp_bytes)} UDP (QUIC + TLS) | ${bytes(jb?.bytes)} TCP (WebSocket) | ${bytes(ab?.bytes)} (sync messages) | ${bytes(sb?.bytes)} (saved documents) |`,
)
say(
  `| bytes per document | ${num(yb?.udp_bytes / yb?.done)} UDP | ${num(jb?.bytes / jb?.done)} | ${num(ab?.bytes / ab?.done)} | ${num(sb?.bytes / sb?.done)} |`,
)
say(
  `| processor time (both sides) | ${secs(yb?.cpu_secs)} | ${secs(jb?.cpu_secs)} (A ${secs(jb?.cpu_secs_a)}, B ${secs(jb?.cpu_secs_b)}) | ${secs(ab?.cpu_secs)} | ${secs(sb?.cpu_secs)} |`,
)
say(
  `| peak resident memory | ${mib(yb?.peak_rss_kib)} (one process, both nodes) | ${mib(jb?.peak_rss_kib)} (A ${mib(jb?.peak_rss_kib_a)} + B ${mib(jb?.peak_rss_kib_b)}) | ${mib(ab?.peak_rss_kib)} | ${mib(sb?.peak_rss_kib)} |`,
)
const perDoc = r => (r ? r.secs / r.done : undefined)
say(
  `| time per document / the limit's | ${ratio(perDoc(yb), perDoc(ab))} | ${ratio(perDoc(jb), perDoc(ab))} | 1 | ${ratio(perDoc(sb), perDoc(ab))} |`,
)
say(`| time per document / Yikou's | 1 | ${ratio(perDoc(jb), perDoc(yb))} | ${ratio(perDoc(ab), perDoc(yb))} | ${ratio(perDoc(sb), perDoc(yb))} |`)
say("")

// Reconnect.
const yr = get("yikou", "reconnect")
const jr = get("automerge-repo", "reconnect")
const ar = get("automerge", "reconnect")
const cr = get("automerge-changed-only", "reconnect")
say(`#### Reconnect after ${exp?.changed} of the ${num(n)} documents changed`)
say("")
say(
  "| | (a) Yikou | (b) automerge-repo | (c) Automerge sync protocol, every pair (sync states kept) | Automerge sync protocol, the changed pairs only |",
)
say("|---|---|---|---|---|")
const jrDone = jr ? (jr.complete ? `${jr.done} of ${jr.changed}` : `**${jr.done} of ${jr.changed}** (limit)`) : "not run"
say(`| changed documents current | ${yr?.done} of ${yr?.changed} | ${jrDone} | ${ar?.done} of ${ar?.changed} | ${cr?.done} of ${cr?.changed} |`)
say(`| time | **${secs(yr?.secs)}** | **${secs(jr?.secs)}** | **${secs(ar?.secs)}** | ${secs(cr?.secs)} |`)
say(
  `| bytes on the wire | ${bytes(yr?.bytes)} frames; ${bytes(yr?.udp_bytes)} UDP (QUIC + TLS handshake) | ${bytes(jr?.bytes)} TCP (WebSocket) | ${bytes(ar?.bytes)} | ${bytes(cr?.bytes)} |`,
)
say(
  `| processor time (both sides) | ${secs(yr?.cpu_secs)} | ${secs(jr?.cpu_secs)} (A ${secs(jr?.cpu_secs_a)}, B ${secs(jr?.cpu_secs_b)}) | ${secs(ar?.cpu_secs)} | ${secs(cr?.cpu_secs)} |`,
)
say(
  `| peak resident memory | ${mib(yr?.peak_rss_kib)} | ${mib(jr?.peak_rss_kib)} (A ${mib(jr?.peak_rss_kib_a)} + B ${mib(jr?.peak_rss_kib_b)}) | ${mib(ar?.peak_rss_kib)} | ${mib(cr?.peak_rss_kib)} |`,
)
say(`| time / Yikou's | 1 | ${ratio(jr?.secs, yr?.secs)} | ${ratio(ar?.secs, yr?.secs)} | ${ratio(cr?.secs, yr?.secs)} |`)
say(`| bytes / Yikou's (UDP) | 1 | ${ratio(jr?.bytes, yr?.udp_bytes)} | ${ratio(ar?.bytes, yr?.udp_bytes)} | ${ratio(cr?.bytes, yr?.udp_bytes)} |`)
say("")
const bootGoal = perDoc(yb) / perDoc(ab)
const reGoal = jr ? jr.secs / yr.secs : undefined
say(
  `Goals in this run: Yikou's bootstrap within 2× of the in-process limit: ${bootGoal.toFixed(2)}× — **${bootGoal <= 2 ? "met" : "not met"}**; ` +
    `Yikou at least 10× faster than automerge-repo on the reconnect: ` +
    (reGoal === undefined
      ? "**not measured** (automerge-repo's bootstrap did not finish)"
      : `${reGoal.toFixed(1)}× — **${reGoal >= 10 && jr.complete ? "met" : "not met"}**.`),
)

const doc = arg("--doc")
const text = fs.readFileSync(doc, "utf8")
const begin = "<!-- bench.sh: begin -->"
const end = "<!-- bench.sh: end -->"
const block = `${begin}\n${lines.join("\n")}\n${end}`
const i = text.indexOf(begin)
const j = text.indexOf(end)
const out = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`
fs.writeFileSync(doc, out)
console.log(lines.join("\n"))
