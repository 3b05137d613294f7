//! The quinn driver of replication: QUIC with mutual TLS between nodes, one
//! [`yikou_sync::Session`] per connection, its storage requests run in order on a blocking
//! thread by [`crate::replica::Host`].
//!
//! Per session four parts run: a reader task (frames → messages, bounded channel), the session
//! loop (the only owner of the state machine; writes frames to the stream), a storage thread
//! (requests in order, replies in order) and the store's write watch (local writes are offered
//! within moments). The protocol's window bounds the messages in flight each way, and the
//! channels are sized above that bound, so neither side can fill the other's queues while both
//! wait on each other.
//!
//! Townships dial the hall (and optionally each other) with exponential back-off and jitter;
//! every node accepts. A peer whose certificate the CA did not sign or has revoked is refused
//! by TLS before any message; the name in the certificate must match the peer dialled and the
//! `Hello`, and its role and scope become the session's [`ScopePolicy`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use yikou_sync::backoff::Backoff;
use yikou_sync::session::{Event, Limits, Output, Reply, Request, Session, SessionConfig};
use yikou_sync::wire::{self, Cursor, FRAME_HEADER_BYTES, Message, Refusal};

use crate::pki::{self, NodeCredentials, NodeIdentity, PeerRole};
use crate::replica::{APPLY_THREADS_DEFAULT, Access, Host, ScopePolicy};
use crate::store::attachments::{ATTACHMENT_BYTES_MAX, AttachmentRef, AttachmentStore};
use crate::store::{CaseStore, Checkpoint};

/// Messages received and not yet handled by the session loop.
pub const INBOUND_MESSAGES_MAX: usize = 4_096;
/// Storage requests queued for the storage thread (the protocol's window keeps far fewer).
pub const STORAGE_REQUESTS_MAX: usize = 4_096;
/// Counting "documents behind" stops here (a status read must stay cheap at a hall holding a
/// million cases; the figure then reads as "at least").
pub const DOCS_BEHIND_COUNT_MAX: usize = 100_000;
/// Wait this long for a refusal to reach the peer before closing the connection.
const CLOSE_GRACE_MS: u64 = 1_000;
/// How long a peer's new inbound connection waits for the stale session it replaces to end.
const SESSION_REPLACE_WAIT_MS: u64 = 5_000;
/// How often it looks.
const SESSION_REPLACE_POLL_MS: u64 = 20;
/// Attachment transfers served at once per connection (each on its own stream).
pub const ATTACHMENT_STREAMS_MAX: usize = 8;
/// Bytes read from an attachment stream before they are written to the partial file.
pub const ATTACHMENT_CHUNK_BYTES: usize = 256 * 1024;
/// Attachments the fetch-all loop remembers to retry (it stops following the feed beyond).
pub const PENDING_FETCHES_MAX: usize = 10_000;
/// The attachment stream's request format version.
const ATTACHMENT_PROTOCOL: u8 = 1;
/// The pseudo-peer name under which the fetch-all loop keeps its place in the local feed.
const FETCH_CURSOR: &str = "attachments-fetched";

/// A peer this node dials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddr {
    pub name: String,
    pub addr: SocketAddr,
}

#[derive(Debug, Clone)]
pub struct NetConfig {
    pub listen: SocketAddr,
    pub peers: Vec<PeerAddr>,
    pub limits: Limits,
    pub apply_threads: usize,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// Where scanned materials live; `None`: attachments are neither served nor fetched.
    pub attachments_dir: Option<PathBuf>,
    /// Fetch every attachment the cases refer to as they arrive (default: the hall does, a
    /// township fetches on demand with [`Replicator::fetch_attachment`]).
    pub fetch_all_attachments: Option<bool>,
}

impl NetConfig {
    pub fn new(listen: SocketAddr) -> NetConfig {
        NetConfig {
            listen,
            peers: Vec::new(),
            limits: Limits::default(),
            apply_threads: APPLY_THREADS_DEFAULT,
            backoff_base_ms: 200,
            backoff_max_ms: 30_000,
            attachments_dir: None,
            fetch_all_attachments: None,
        }
    }
}

/// What the node knows of one peer.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PeerStatus {
    pub name: String,
    pub role: Option<PeerRole>,
    pub scope: Option<String>,
    pub connected: bool,
    /// Milliseconds since the Unix epoch of the last message from the peer.
    pub last_contact_ms: Option<u64>,
    /// The peer durably holds this node's feed up to here.
    pub acked_upto: Option<u64>,
    /// This node's feed entries after `acked_upto` (documents the peer may still lack).
    pub docs_behind: u64,
    /// This node holds everything the peer offered.
    pub caught_up: bool,
    pub docs_received: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub docs_refused: u64,
    pub sessions: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("无法在 {addr} 上监听:{source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

struct Ctx {
    store: Arc<CaseStore>,
    me: NodeIdentity,
    cfg: NetConfig,
    client: quinn::ClientConfig,
    status: Mutex<BTreeMap<String, PeerStatus>>,
    /// Peers with a session, and whether that session's connection came in (accepted) or went
    /// out (dialled).
    active: Mutex<HashMap<String, bool>>,
    conns: Mutex<HashMap<String, (quinn::Connection, ScopePolicy)>>,
    attachments: Option<Arc<AttachmentStore>>,
    shutdown: watch::Receiver<bool>,
}

/// Replication of one node: its endpoint, its dialers and its sessions.
pub struct Replicator {
    ctx: Arc<Ctx>,
    endpoint: quinn::Endpoint,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

fn access(id: &NodeIdentity) -> Access {
    Access { hall: id.role == PeerRole::Hall, scope: id.scope.clone() }
}

impl Replicator {
    /// Listens, and dials every configured peer.
    pub async fn start(
        store: Arc<CaseStore>,
        creds: NodeCredentials,
        cfg: NetConfig,
    ) -> Result<Replicator, NetError> {
        let server = pki::server_config(&creds)?;
        let client = pki::client_config(&creds)?;
        let mut endpoint = quinn::Endpoint::server(server, cfg.listen)
            .map_err(|source| NetError::Listen { addr: cfg.listen, source })?;
        endpoint.set_default_client_config(client.clone());
        let (shutdown_tx, shutdown) = watch::channel(false);
        let attachments = match &cfg.attachments_dir {
            Some(dir) => Some(Arc::new(AttachmentStore::open(dir, ATTACHMENT_BYTES_MAX)?)),
            None => None,
        };
        let fetch_all = cfg.fetch_all_attachments.unwrap_or(creds.identity.role == PeerRole::Hall);
        let ctx = Arc::new(Ctx {
            store,
            me: creds.identity.clone(),
            cfg: cfg.clone(),
            client,
            status: Mutex::new(BTreeMap::new()),
            active: Mutex::new(HashMap::new()),
            conns: Mutex::new(HashMap::new()),
            attachments,
            shutdown,
        });
        let mut tasks = vec![tokio::spawn(accept_loop(ctx.clone(), endpoint.clone()))];
        if fetch_all && ctx.attachments.is_some() {
            tasks.push(tokio::spawn(fetch_all_loop(ctx.clone())));
        }
        for (i, peer) in cfg.peers.iter().enumerate() {
            tasks.push(tokio::spawn(dial_loop(ctx.clone(), endpoint.clone(), peer.clone(), i as u64)));
        }
        tracing::info!(node = %ctx.me.name, addr = ?endpoint.local_addr().ok(), "replication listening");
        Ok(Replicator { ctx, endpoint, shutdown: shutdown_tx, tasks: Mutex::new(tasks) })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.endpoint.local_addr().ok()
    }

    /// Every peer this node dialled or was dialled by, with documents behind counted now.
    pub fn status(&self) -> Vec<PeerStatus> {
        let mut out: Vec<PeerStatus> =
            self.ctx.status.lock().map(|s| s.values().cloned().collect()).unwrap_or_default();
        for p in &mut out {
            let after = p.acked_upto.unwrap_or(0);
            p.docs_behind =
                self.ctx.store.feed_len_after(after, DOCS_BEHIND_COUNT_MAX).map_or(0, |n| n as u64);
        }
        out
    }

    pub fn peer(&self, name: &str) -> Option<PeerStatus> {
        self.status().into_iter().find(|p| p.name == name)
    }

    /// Fetches a scanned material of case `doc` from a connected peer (resuming an interrupted
    /// download), verifies it against its hash and stores it.
    pub async fn fetch_attachment(&self, doc: &str, hash: &str) -> Result<AttachmentRef, String> {
        fetch_any(&self.ctx, doc, hash).await
    }

    /// Closes every session (telling peers why) and the endpoint.
    pub async fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        let tasks = self.tasks.lock().map(|mut t| std::mem::take(&mut *t)).unwrap_or_default();
        for t in tasks {
            t.abort();
        }
        let deadline = tokio::time::Instant::now() + Duration::from_millis(CLOSE_GRACE_MS);
        while self.ctx.active.lock().map(|a| !a.is_empty()).unwrap_or(false)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.endpoint.close(0u32.into(), b"shutdown");
        let _ = tokio::time::timeout(Duration::from_millis(CLOSE_GRACE_MS), self.endpoint.wait_idle()).await;
    }
}

fn with_status(ctx: &Ctx, name: &str, f: impl FnOnce(&mut PeerStatus)) {
    if let Ok(mut s) = ctx.status.lock() {
        let p = s
            .entry(name.to_string())
            .or_insert_with(|| PeerStatus { name: name.to_string(), ..Default::default() });
        f(p);
    }
}

async fn accept_loop(ctx: Arc<Ctx>, endpoint: quinn::Endpoint) {
    while let Some(incoming) = endpoint.accept().await {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let conn = match incoming.await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "incoming connection refused during the handshake");
                    return;
                }
            };
            let peer = match pki::peer_identity(&conn) {
                Ok(p) => p,
                Err(e) => {
                    conn.close(1u32.into(), e.code().as_bytes());
                    return;
                }
            };
            match conn.accept_bi().await {
                Ok((send, recv)) => {
                    let _ = run_session(ctx, conn, send, recv, peer, true).await;
                }
                Err(e) => tracing::debug!(error = %e, "no session stream"),
            }
        });
    }
}

async fn dial_loop(ctx: Arc<Ctx>, endpoint: quinn::Endpoint, peer: PeerAddr, salt: u64) {
    let seed = u64::from_le_bytes(
        blake3::hash(format!("{}>{}#{salt}", ctx.me.name, peer.name).as_bytes()).as_bytes()[..8]
            .try_into()
            .unwrap_or([0; 8]),
    ) ^ crate::clock::now_ms() as u64;
    let mut backoff = Backoff::new(ctx.cfg.backoff_base_ms, ctx.cfg.backoff_max_ms, seed);
    let mut shutdown = ctx.shutdown.clone();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let established = dial_once(&ctx, &endpoint, &peer).await;
        match established {
            Ok(()) => backoff.reset(),
            Err(reason) => with_status(&ctx, &peer.name, |p| p.last_error = Some(reason)),
        }
        let delay = backoff.next_delay_ms();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(delay)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One connection to a dialled peer; `Ok` when a session got past its hello.
async fn dial_once(ctx: &Arc<Ctx>, endpoint: &quinn::Endpoint, peer: &PeerAddr) -> Result<(), String> {
    let connecting = endpoint
        .connect_with(ctx.client.clone(), peer.addr, &pki::server_name(&peer.name))
        .map_err(|e| format!("无法连接 {}:{e}", peer.addr))?;
    let conn = connecting.await.map_err(|e| format!("连接 {} 失败:{e}", peer.addr))?;
    let identity = pki::peer_identity(&conn).map_err(|e| e.to_string())?;
    if identity.name != peer.name {
        conn.close(1u32.into(), b"identity_mismatch");
        return Err(format!("{} 处的节点是“{}”,不是“{}”", peer.addr, identity.name, peer.name));
    }
    let (send, recv) = conn.open_bi().await.map_err(|e| format!("无法打开同步流:{e}"))?;
    run_session(ctx.clone(), conn, send, recv, identity, false).await
}

struct ActiveGuard<'a>(&'a Ctx, String);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        // The session's claim goes last: a session replacing this one starts only after it, so
        // nothing here removes what the new one sets up.
        if let Ok(mut c) = self.0.conns.lock() {
            c.remove(&self.1);
        }
        with_status(self.0, &self.1, |p| p.connected = false);
        if let Ok(mut a) = self.0.active.lock() {
            a.remove(&self.1);
        }
    }
}

/// Claims the one session with `name`. A new inbound connection from a peer whose earlier inbound
/// session is still open replaces it: a peer dials one connection at a time, so the old one is
/// dead (the peer restarted after a crash, or its close was lost) and would otherwise shut the
/// peer out until the idle timeout. Any other duplicate — both sides dialling each other — is
/// refused, so that two live sessions never push each other out.
async fn claim_session(ctx: &Ctx, name: &str, inbound: bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(SESSION_REPLACE_WAIT_MS);
    loop {
        let old_inbound = {
            let Ok(mut active) = ctx.active.lock() else { return false };
            match active.get(name) {
                None => {
                    active.insert(name.to_string(), inbound);
                    return true;
                }
                Some(old) => *old,
            }
        };
        if !(inbound && old_inbound) || tokio::time::Instant::now() >= deadline {
            return false;
        }
        let old = ctx.conns.lock().ok().and_then(|c| c.get(name).map(|(conn, _)| conn.clone()));
        if let Some(old) = old {
            tracing::info!(peer = %name, "a new connection from the peer replaces its stale session");
            old.close(3u32.into(), b"replaced_by_new_session");
        }
        tokio::time::sleep(Duration::from_millis(SESSION_REPLACE_POLL_MS)).await;
    }
}

async fn read_message(recv: &mut quinn::RecvStream) -> Result<(Message, usize), String> {
    let mut header = [0u8; FRAME_HEADER_BYTES];
    recv.read_exact(&mut header).await.map_err(|e| format!("连接中断:{e}"))?;
    let (len, flags) = wire::decode_header(header).map_err(|e| e.to_string())?;
    let mut payload = vec![0u8; len];
    recv.read_exact(&mut payload).await.map_err(|e| format!("连接中断:{e}"))?;
    let msg =
        wire::decode_payload(flags, &payload).map_err(|e| format!("对端消息无法解析({}):{e}", e.code()))?;
    Ok((msg, FRAME_HEADER_BYTES + len))
}

/// Runs one session to its end. `Ok` if it got past the hello (so back-off resets).
async fn run_session(
    ctx: Arc<Ctx>,
    conn: quinn::Connection,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    peer: NodeIdentity,
    inbound: bool,
) -> Result<(), String> {
    let name = peer.name.clone();
    if !claim_session(&ctx, &name, inbound).await {
        conn.close(2u32.into(), b"duplicate_session");
        return Err(format!("与 {name} 已有一个同步会话"));
    }
    let _guard = ActiveGuard(&ctx, name.clone());
    let store = ctx.store.clone();
    let checkpoint = store.checkpoint(&name).map_err(|e| e.to_string())?;
    let policy = ScopePolicy { me: access(&ctx.me), peer: access(&peer) };
    let mut watch_seq = store.watch_seq();
    let mut session = Session::new(
        SessionConfig {
            node: ctx.me.name.clone(),
            peer: name.clone(),
            epoch: store.epoch(),
            feed_seq: store.last_seq().map_err(|e| e.to_string())?,
            docs: store.doc_count().map_err(|e| e.to_string())?,
            checkpoint: checkpoint.map(|c| Cursor { epoch: c.epoch, seq: c.seq }),
            limits: ctx.cfg.limits.clone(),
        },
        Box::new(policy.clone()),
    );
    if let Ok(mut c) = ctx.conns.lock() {
        c.insert(name.clone(), (conn.clone(), policy.clone()));
    }
    let server = tokio::spawn(attachment_server(ctx.clone(), conn.clone(), policy.clone()));
    with_status(&ctx, &name, |p| {
        p.role = Some(peer.role);
        p.scope = Some(peer.scope.clone());
        p.sessions += 1;
    });

    // Reader task.
    let (in_tx, mut in_rx) = mpsc::channel::<Result<(Message, usize), String>>(INBOUND_MESSAGES_MAX);
    let reader = tokio::spawn(async move {
        loop {
            let r = read_message(&mut recv).await;
            let stop = r.is_err();
            if in_tx.send(r).await.is_err() || stop {
                return;
            }
        }
    });

    // Storage thread: requests in order, replies in order.
    let host = Host::new(store.clone(), policy, ctx.cfg.apply_threads);
    let (req_tx, mut req_rx) = mpsc::channel::<Request>(STORAGE_REQUESTS_MAX);
    let (rep_tx, mut rep_rx) = mpsc::channel::<Result<Reply, String>>(STORAGE_REQUESTS_MAX);
    let storage = tokio::task::spawn_blocking(move || {
        while let Some(req) = req_rx.blocking_recv() {
            let r = match host.serve(req) {
                Ok(None) => continue,
                Ok(Some(reply)) => Ok(reply),
                Err(e) => Err(e.to_string()),
            };
            let failed = r.is_err();
            if rep_tx.blocking_send(r).is_err() || failed {
                return;
            }
        }
    });

    let mut shutdown = ctx.shutdown.clone();
    let mut established = false;
    let outcome: Result<(), String> = 'session: loop {
        while let Some(o) = session.poll() {
            match o {
                Output::Send(m) => {
                    let frame = match wire::encode(&m) {
                        Ok(f) => f,
                        Err(e) => break 'session Err(format!("无法编码消息:{e}")),
                    };
                    if let Err(e) = send.write_all(&frame).await {
                        break 'session Err(format!("发送失败:{e}"));
                    }
                    with_status(&ctx, &name, |p| p.bytes_sent += frame.len() as u64);
                }
                Output::Storage(r) => {
                    if req_tx.send(r).await.is_err() {
                        break 'session Err("存储线程已停止".to_string());
                    }
                }
                Output::Event(e) => on_event(&ctx, &name, e, &mut established),
                Output::Close(r) => {
                    let _ = send.finish();
                    let _ = tokio::time::timeout(Duration::from_millis(CLOSE_GRACE_MS), send.stopped()).await;
                    conn.close(3u32.into(), r.code.as_bytes());
                    break 'session Err(format!("{}({})", r.reason, r.code));
                }
            }
        }
        tokio::select! {
            m = in_rx.recv() => match m {
                Some(Ok((msg, bytes))) => {
                    with_status(&ctx, &name, |p| {
                        p.last_contact_ms = Some(crate::clock::now_ms().max(0) as u64);
                        p.bytes_received += bytes as u64;
                    });
                    session.handle_message(msg);
                }
                Some(Err(e)) => break 'session Err(e),
                None => break 'session Err("连接已关闭".to_string()),
            },
            r = rep_rx.recv() => match r {
                Some(Ok(reply)) => session.handle_reply(reply),
                Some(Err(e)) => session.close(Refusal { code: "storage".into(), reason: format!("本节点存储出错:{e}") }),
                None => break 'session Err("存储线程已停止".to_string()),
            },
            changed = watch_seq.changed() => {
                if changed.is_ok() {
                    let seq = *watch_seq.borrow_and_update();
                    session.local_changed(seq);
                }
            }
            _ = shutdown.changed() => {
                session.close(Refusal { code: "shutdown".into(), reason: "对端节点正在关闭".into() });
            }
        }
    };
    reader.abort();
    server.abort();
    drop(req_tx);
    let _ = storage.await;
    if let Err(e) = &outcome {
        tracing::info!(peer = %name, reason = %e, "session ended");
        with_status(&ctx, &name, |p| p.last_error = Some(e.clone()));
    }
    if established { Ok(()) } else { outcome }
}

fn on_event(ctx: &Ctx, name: &str, e: Event, established: &mut bool) {
    match e {
        Event::Established { reconcile, .. } => {
            *established = true;
            tracing::info!(peer = %name, reconcile, "session established");
            with_status(ctx, name, |p| {
                p.connected = true;
                p.caught_up = false;
                p.last_error = None;
            });
        }
        Event::PeerAcked { upto } => {
            if let Some(u) = upto {
                with_status(ctx, name, |p| p.acked_upto = Some(p.acked_upto.unwrap_or(0).max(u)));
            }
        }
        Event::Applied { docs, refused, .. } => {
            for (doc, reason) in &refused {
                tracing::warn!(peer = %name, doc = %doc, reason = %reason, "document refused");
            }
            with_status(ctx, name, |p| {
                p.docs_received += docs as u64;
                p.docs_refused += refused.len() as u64;
                p.caught_up = false;
            });
        }
        Event::CaughtUp { .. } => with_status(ctx, name, |p| p.caught_up = true),
    }
}

// ----- attachments: scanned materials on their own streams -----
//
// Request: [version 1][hash: 64 hex bytes][offset: u64 BE][doc id length: u8][doc id]. Response:
// [status: u8 (0 ok, 1 not held, 2 not allowed, 3 bad request)][total length: u64 BE], then the
// bytes from `offset` to the end. The server sends only attachments that a case the peer may read
// refers to; the fetcher appends to a partial file, so a broken transfer resumes where it
// stopped, and the whole is verified against its BLAKE3 hash before it counts.

const STATUS_OK: u8 = 0;
const STATUS_NOT_HELD: u8 = 1;
const STATUS_FORBIDDEN: u8 = 2;
const STATUS_BAD: u8 = 3;

fn scans_of(case: &yikou_schema::case::Case) -> impl Iterator<Item = &yikou_schema::case::Scan> {
    case.events.iter().flat_map(|e| match &e.kind {
        yikou_schema::case::EventKind::MaterialsScanned { scans, .. } => scans.as_slice(),
        _ => &[],
    })
}

async fn attachment_server(ctx: Arc<Ctx>, conn: quinn::Connection, policy: ScopePolicy) {
    let permits = Arc::new(tokio::sync::Semaphore::new(ATTACHMENT_STREAMS_MAX));
    while let Ok((send, recv)) = conn.accept_bi().await {
        let Ok(permit) = permits.clone().acquire_owned().await else { return };
        let (ctx, policy) = (ctx.clone(), policy.clone());
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = serve_attachment(&ctx, &policy, send, recv).await {
                tracing::debug!(error = %e, "attachment request failed");
            }
        });
    }
}

async fn serve_attachment(
    ctx: &Arc<Ctx>,
    policy: &ScopePolicy,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) -> Result<(), String> {
    let mut head = [0u8; 1 + 64 + 8 + 1];
    recv.read_exact(&mut head).await.map_err(|e| e.to_string())?;
    let mut doc = vec![0u8; usize::from(head[73])];
    recv.read_exact(&mut doc).await.map_err(|e| e.to_string())?;
    let hash = String::from_utf8_lossy(&head[1..65]).to_string();
    let offset = u64::from_be_bytes(head[65..73].try_into().map_err(|_| "bad offset")?);
    let doc = String::from_utf8_lossy(&doc).to_string();
    let (store, atts, policy) = (ctx.store.clone(), ctx.attachments.clone(), policy.clone());
    let answer = tokio::task::spawn_blocking(move || -> (u8, Vec<u8>) {
        let Some(atts) = atts else { return (STATUS_NOT_HELD, Vec::new()) };
        if head[0] != ATTACHMENT_PROTOCOL {
            return (STATUS_BAD, Vec::new());
        }
        let Ok(case) = store.case(&doc) else { return (STATUS_NOT_HELD, Vec::new()) };
        if !policy.peer.reads(&doc, Some(&case.header.scope)) || !scans_of(&case).any(|s| s.hash == hash) {
            return (STATUS_FORBIDDEN, Vec::new());
        }
        match atts.get(&hash) {
            Ok(bytes) => (STATUS_OK, bytes),
            Err(_) => (STATUS_NOT_HELD, Vec::new()),
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    let (status, bytes) = answer;
    let mut reply = vec![status];
    reply.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    send.write_all(&reply).await.map_err(|e| e.to_string())?;
    if status == STATUS_OK {
        let from = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
        send.write_all(&bytes[from..]).await.map_err(|e| e.to_string())?;
    }
    send.finish().map_err(|e| e.to_string())?;
    let _ = send.stopped().await;
    Ok(())
}

async fn fetch_any(ctx: &Arc<Ctx>, doc: &str, hash: &str) -> Result<AttachmentRef, String> {
    let Some(atts) = ctx.attachments.clone() else { return Err("本节点未配置附件目录".into()) };
    if atts.has(hash) {
        let bytes = atts.get(hash).map_err(|e| e.to_string())?;
        return Ok(AttachmentRef { hash: hash.to_string(), bytes: bytes.len() as u64 });
    }
    let conns: Vec<(String, quinn::Connection)> = ctx
        .conns
        .lock()
        .map(|c| c.iter().map(|(n, (conn, _))| (n.clone(), conn.clone())).collect())
        .unwrap_or_default();
    let mut last = format!("没有已连接的节点持有附件 {hash}");
    for (name, conn) in conns {
        match fetch_from(&atts, &conn, doc, hash).await {
            Ok(r) => return Ok(r),
            Err(e) => last = format!("{name}:{e}"),
        }
    }
    Err(last)
}

async fn fetch_from(
    atts: &Arc<AttachmentStore>,
    conn: &quinn::Connection,
    doc: &str,
    hash: &str,
) -> Result<AttachmentRef, String> {
    let doc_len = u8::try_from(doc.len()).map_err(|_| "文档编号过长".to_string())?;
    if hash.len() != 64 {
        return Err("附件哈希无效".into());
    }
    let offset = atts.partial_len(hash);
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
    let mut req = vec![ATTACHMENT_PROTOCOL];
    req.extend_from_slice(hash.as_bytes());
    req.extend_from_slice(&offset.to_be_bytes());
    req.push(doc_len);
    req.extend_from_slice(doc.as_bytes());
    send.write_all(&req).await.map_err(|e| e.to_string())?;
    send.finish().map_err(|e| e.to_string())?;
    let mut head = [0u8; 9];
    recv.read_exact(&mut head).await.map_err(|e| e.to_string())?;
    let total = u64::from_be_bytes(head[1..9].try_into().map_err(|_| "bad length")?);
    match head[0] {
        STATUS_OK => {}
        STATUS_FORBIDDEN => return Err("对端不允许本节点读取该附件".into()),
        STATUS_BAD => return Err("对端不理解附件请求".into()),
        _ => return Err("对端没有该附件".into()),
    }
    if total > ATTACHMENT_BYTES_MAX || offset > total {
        return Err(format!("附件长度 {total} 不合理"));
    }
    let mut have = offset;
    let mut buf = vec![0u8; ATTACHMENT_CHUNK_BYTES];
    while have < total {
        let n = match recv.read(&mut buf).await.map_err(|e| e.to_string())? {
            Some(n) => n,
            None => break,
        };
        have = atts.append_partial(hash, &buf[..n]).map_err(|e| e.to_string())?;
    }
    if have != total {
        return Err(format!("附件传输中断({have}/{total} 字节),下次从断点继续"));
    }
    atts.finish_partial(hash).map_err(|e| e.to_string())
}

/// The hall's loop: follows the local feed and fetches every attachment a case refers to that
/// is not held yet. Its place in the feed is kept like a peer's checkpoint; misses are retried.
async fn fetch_all_loop(ctx: Arc<Ctx>) {
    let Some(atts) = ctx.attachments.clone() else { return };
    let mut watch_seq = ctx.store.watch_seq();
    let mut shutdown = ctx.shutdown.clone();
    let mut cursor = ctx.store.checkpoint(FETCH_CURSOR).ok().flatten().map_or(0, |c| c.seq);
    let mut pending: BTreeSet<(String, String)> = BTreeSet::new();
    loop {
        // Retry what failed before, then follow the feed while there is room to remember misses.
        let retry: Vec<(String, String)> = pending.iter().cloned().collect();
        for (doc, hash) in retry {
            if atts.has(&hash) || fetch_any(&ctx, &doc, &hash).await.is_ok() {
                pending.remove(&(doc, hash));
            }
        }
        while pending.len() < PENDING_FETCHES_MAX {
            let store = ctx.store.clone();
            let after = cursor;
            let found = tokio::task::spawn_blocking(move || -> Vec<(u64, String, Vec<String>)> {
                let entries = store.changes_since(after, 256).unwrap_or_default();
                entries
                    .into_iter()
                    .map(|e| {
                        let hashes = if e.doc.starts_with("ref:") {
                            Vec::new()
                        } else {
                            store
                                .case(&e.doc)
                                .map(|c| scans_of(&c).map(|s| s.hash.clone()).collect())
                                .unwrap_or_default()
                        };
                        (e.seq, e.doc, hashes)
                    })
                    .collect()
            })
            .await
            .unwrap_or_default();
            if found.is_empty() {
                break;
            }
            for (seq, doc, hashes) in found {
                for hash in hashes {
                    if !atts.has(&hash) && fetch_any(&ctx, &doc, &hash).await.is_err() {
                        pending.insert((doc.clone(), hash));
                    }
                }
                cursor = seq;
            }
            let _ =
                ctx.store.put_checkpoint(FETCH_CURSOR, &Checkpoint { epoch: ctx.store.epoch(), seq: cursor });
        }
        tokio::select! {
            _ = watch_seq.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
