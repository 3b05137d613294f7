// One automerge-repo process of the comparative benchmark (bench.mjs forks it; IPC for control).
//
//   node peer.mjs serve   — process A: imports the exported documents into a Repo with NodeFS
//                           storage and serves them over WebSocket (it announces nothing: a
//                           server answers the documents a peer asks for by id)
//   node peer.mjs fetch   — process B: a Repo with NodeFS storage and the WebSocket client
//                           adapter; finds every document id (bootstrap, empty storage), or,
//                           with its storage from before, finds them again and waits until the
//                           changed documents hold A's heads (reconnect)
//
// Each process measures its own processor time (process.cpuUsage) and peak resident memory
// (VmHWM, reset through /proc/self/clear_refs when a phase starts); A counts the bytes of its
// TCP connections (the WebSocket upgrade, frames and payloads: socket.bytesRead + bytesWritten).

import fs from "node:fs"
import path from "node:path"
import * as Automerge from "@automerge/automerge"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter, WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"
import { WebSocketServer } from "ws"

/// Documents A imports before it writes them to storage and drops them from its cache.
const IMPORT_CHUNK = 250

const send = m => process.send && process.send(m)

function resetPeak() {
  try {
    fs.writeFileSync("/proc/self/clear_refs", "5")
  } catch {}
}

function peakKib() {
  const s = fs.readFileSync("/proc/self/status", "utf8")
  const m = s.match(/VmHWM:\s+(\d+) kB/)
  return m ? Number(m[1]) : 0
}

const cpuSecs = since => {
  const u = process.cpuUsage(since)
  return (u.user + u.system) / 1e6
}

async function serve(opts) {
  const { exportDir, storage, docs } = opts
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 })
  const sockets = []
  wss.on("connection", (_ws, req) => sockets.push(req.socket))
  const repo = new Repo({
    storage: new NodeFSStorageAdapter(storage),
    network: [new WebSocketServerAdapter(wss)],
    sharePolicy: async () => false,
  })
  const t0 = performance.now()
  const urls = []
  // Imported in chunks, each written to storage and dropped from the handle cache: importing
  // into one Repo slows down with every handle it holds (2,000 documents: 98 s kept, 32 s
  // evicted). A serves the evicted documents from its storage when B asks for them.
  let chunk = []
  for (let i = 0; i < docs; i++) {
    const bytes = fs.readFileSync(path.join(exportDir, "docs", `${i}.am`))
    const handle = repo.import(new Uint8Array(bytes))
    urls.push(handle.url)
    chunk.push(handle.documentId)
    if (chunk.length >= IMPORT_CHUNK || i === docs - 1) {
      await repo.flush(chunk)
      for (const id of chunk) await repo.removeFromCache(id)
      chunk = []
    }
  }
  const loadSecs = (performance.now() - t0) / 1000
  await new Promise(r => (wss.address() ? r() : wss.on("listening", r)))
  const bytes = () => sockets.reduce((n, s) => n + s.bytesRead + s.bytesWritten, 0)
  let mark = { cpu: process.cpuUsage(), bytes: 0 }
  process.on("message", async m => {
    if (m.type === "mark") {
      resetPeak()
      mark = { cpu: process.cpuUsage(), bytes: bytes() }
      send({ type: "marked" })
    } else if (m.type === "stats") {
      send({ type: "stats", cpu_secs: cpuSecs(mark.cpu), bytes: bytes() - mark.bytes, peak_rss_kib: peakKib() })
    } else if (m.type === "change") {
      // The exported changes (Automerge change chunks made by the node) applied to A's documents.
      const heads = {}
      for (const i of m.changed) {
        const chunk = new Uint8Array(fs.readFileSync(path.join(exportDir, "changes", `${i}.am`)))
        const handle = await repo.find(urls[i])
        handle.update(d => Automerge.loadIncremental(d, chunk))
        heads[i] = Automerge.getHeads(handle.doc())
      }
      await repo.flush()
      send({ type: "changed", heads })
    } else if (m.type === "exit") {
      await repo.shutdown()
      wss.close()
      process.exit(0)
    }
  })
  send({ type: "ready", port: wss.address().port, urls, loadSecs })
}

async function fetchAll(opts) {
  const { storage, port, urls, concurrency, limitSecs, expect } = opts
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const elapsed = () => (performance.now() - t0) / 1000
  const repo = new Repo({
    storage: new NodeFSStorageAdapter(storage),
    network: [new WebSocketClientAdapter(`ws://127.0.0.1:${port}`)],
  })
  await new Promise(r => {
    if (repo.peers.length > 0) return r()
    repo.networkSubsystem.once("peer", r)
  })
  const handles = new Map()
  let next = 0
  let found = 0
  let failed = 0
  let stopped = false
  const progress = setInterval(
    () => process.stderr.write(`  automerge-repo: ${found}/${urls.length} found after ${elapsed().toFixed(0)} s\n`),
    30_000,
  )
  const worker = async () => {
    while (!stopped && next < urls.length) {
      const i = next++
      try {
        handles.set(i, await repo.find(urls[i]))
        found++
      } catch {
        failed++
      }
      if (elapsed() > limitSecs) stopped = true
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const foundSecs = elapsed()
  let doneSecs = foundSecs
  let current = 0
  if (expect) {
    // Reconnect: wait until every changed document holds A's heads.
    const want = Object.entries(expect).map(([i, heads]) => [Number(i), [...heads].sort().join()])
    const isCurrent = ([i, heads]) => {
      const h = handles.get(i)
      return h && [...Automerge.getHeads(h.doc())].sort().join() === heads
    }
    while (!stopped) {
      current = want.filter(isCurrent).length
      if (current === want.length) break
      if (elapsed() > limitSecs) stopped = true
      await new Promise(r => setTimeout(r, 5))
    }
    doneSecs = elapsed()
  }
  clearInterval(progress)
  const result = {
    type: "done",
    found,
    failed,
    current,
    stopped,
    found_secs: foundSecs,
    secs: doneSecs,
    cpu_secs: cpuSecs(cpu0),
    peak_rss_kib: peakKib(),
  }
  // Storage written before the process ends (the reconnect reads it), outside the timing.
  if (!stopped) await repo.flush()
  send(result)
  await repo.shutdown().catch(() => {})
  process.exit(0)
}

process.once("message", m => {
  const run = process.argv[2] === "serve" ? serve : fetchAll
  run(m).catch(e => {
    send({ type: "error", error: String(e && e.stack ? e.stack : e) })
    process.exit(1)
  })
})
