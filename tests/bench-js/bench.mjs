// The automerge-repo contender of scripts/bench.sh: process A serves the exported documents,
// process B fetches every one (bootstrap); then A applies the exported changes, and a new
// process B with its storage from before reconnects (reconnect). Prints `RESULT {json}` lines
// like yikou-bench-sync compare.
//
//   node bench.mjs --export DIR [--docs N] [--limit-secs 600] [--concurrency 256]

import { fork } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : dflt
}
const exportDir = arg("--export")
if (!exportDir) {
  console.error("usage: node bench.mjs --export DIR [--docs N] [--limit-secs 600] [--concurrency 256]")
  process.exit(2)
}
const exported = fs.readFileSync(path.join(exportDir, "ids.txt"), "utf8").split("\n").filter(Boolean).length
const docs = Math.min(Number(arg("--docs", exported)), exported)
const limitSecs = Number(arg("--limit-secs", 600))
const concurrency = Number(arg("--concurrency", 256))
const changed = fs
  .readFileSync(path.join(exportDir, "changed.txt"), "utf8")
  .split("\n")
  .filter(Boolean)
  .map(Number)
  .filter(i => i < docs)
const here = path.dirname(new URL(import.meta.url).pathname)
const tmp = fs.mkdtempSync(path.join(process.env.BENCH_DIR || os.tmpdir(), "yikou-bench-js."))

const result = (phase, fields) => console.log(`RESULT ${JSON.stringify({ system: "automerge-repo", phase, ...fields })}`)

/// A child process and a way to wait for its next message of a type.
function start(mode) {
  const child = fork(path.join(here, "peer.mjs"), [mode], { cwd: here, stdio: ["ignore", "inherit", "inherit", "ipc"] })
  const waiting = []
  child.on("message", m => {
    if (m.type === "error") {
      console.error(`${mode}: ${m.error}`)
      process.exit(1)
    }
    const w = waiting.findIndex(x => x.type === m.type)
    if (w >= 0) waiting.splice(w, 1)[0].resolve(m)
  })
  child.on("exit", code => {
    if (code) {
      console.error(`${mode} exited with ${code}`)
      process.exit(1)
    }
  })
  const next = type => new Promise(resolve => waiting.push({ type, resolve }))
  return { child, next, send: m => child.send(m) }
}

async function quietBytes(a, quietMs) {
  let last = -1
  let since = Date.now()
  for (;;) {
    a.send({ type: "stats" })
    const s = await a.next("stats")
    if (s.bytes !== last) {
      last = s.bytes
      since = Date.now()
    } else if (Date.now() - since >= quietMs) {
      return s
    }
    await new Promise(r => setTimeout(r, 100))
  }
}

const a = start("serve")
a.send({ exportDir, storage: path.join(tmp, "a"), docs })
const ready = await a.next("ready")
console.log(`automerge-repo: A imported ${docs} documents into NodeFS storage in ${ready.loadSecs.toFixed(1)} s (untimed)`)

// Bootstrap.
a.send({ type: "mark" })
await a.next("marked")
let b = start("fetch")
b.send({ storage: path.join(tmp, "b"), port: ready.port, urls: ready.urls, concurrency, limitSecs })
const boot = await b.next("done")
const aBoot = await quietBytes(a, 1000)
console.log(`automerge-repo bootstrap: ${boot.found} of ${docs} found in ${boot.secs.toFixed(1)} s`)
result("bootstrap", {
  docs,
  done: boot.found,
  complete: boot.found === docs,
  secs: boot.secs,
  bytes: aBoot.bytes,
  cpu_secs: boot.cpu_secs + aBoot.cpu_secs,
  cpu_secs_a: aBoot.cpu_secs,
  cpu_secs_b: boot.cpu_secs,
  peak_rss_kib: boot.peak_rss_kib + aBoot.peak_rss_kib,
  peak_rss_kib_a: aBoot.peak_rss_kib,
  peak_rss_kib_b: boot.peak_rss_kib,
  limit_secs: limitSecs,
  concurrency,
})

if (boot.found === docs) {
  // Reconnect after the changes.
  a.send({ type: "change", changed })
  const { heads } = await a.next("changed")
  a.send({ type: "mark" })
  await a.next("marked")
  b = start("fetch")
  b.send({ storage: path.join(tmp, "b"), port: ready.port, urls: ready.urls, concurrency, limitSecs, expect: heads })
  const re = await b.next("done")
  const aRe = await quietBytes(a, 1000)
  console.log(
    `automerge-repo reconnect: ${re.current} of ${changed.length} changed documents current after ${re.secs.toFixed(2)} s (all ${re.found} found after ${re.found_secs.toFixed(2)} s)`,
  )
  result("reconnect", {
    docs,
    changed: changed.length,
    done: re.current,
    complete: re.current === changed.length,
    secs: re.secs,
    found_secs: re.found_secs,
    bytes: aRe.bytes,
    cpu_secs: re.cpu_secs + aRe.cpu_secs,
    cpu_secs_a: aRe.cpu_secs,
    cpu_secs_b: re.cpu_secs,
    peak_rss_kib: re.peak_rss_kib + aRe.peak_rss_kib,
    peak_rss_kib_a: aRe.peak_rss_kib,
    peak_rss_kib_b: re.peak_rss_kib,
  })
} else {
  console.log("automerge-repo reconnect: not run (the bootstrap did not finish within the limit)")
}
a.send({ type: "exit" })
fs.rmSync(tmp, { recursive: true, force: true })
