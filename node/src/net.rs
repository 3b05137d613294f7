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

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use yikou_sync::backoff::Backoff;
use yikou_sync::session::{Event, Limits, Output, Reply, Request, Session, SessionConfig};
use yikou_sync::wire::{self, Cursor, FRAME_HEADER_BYTES, Message, Refusal};

use crate::pki::{self, NodeCredentials, NodeIdentity, PeerRole};
use crate::replica::{APPLY_THREADS_DEFAULT, Access, Host, ScopePolicy};
use crate::store::CaseStore;

/// Messages received and not yet handled by the session loop.
pub const INBOUND_MESSAGES_MAX: usize = 4_096;
/// Storage requests queued for the storage thread (the protocol's window keeps far fewer).
pub const STORAGE_REQUESTS_MAX: usize = 4_096;
/// Counting "documents behind" stops here.
pub const DOCS_BEHIND_COUNT_MAX: usize = 1_000_000;
/// Wait this long for a refusal to reach the peer before closing the connection.
const CLOSE_GRACE_MS: u64 = 1_000;

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
}

struct Ctx {
    store: Arc<CaseStore>,
    me: NodeIdentity,
    cfg: NetConfig,
    client: quinn::ClientConfig,
    status: Mutex<BTreeMap<String, PeerStatus>>,
    active: Mutex<HashSet<String>>,
    shutdown: watch::Receiver<bool>,
}

/// Replication of one node: its endpoint, its dialers and its sessions.
pub struct Replicator {
    ctx: Arc<Ctx>,
    endpoint: quinn::Endpoint,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
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
        let ctx = Arc::new(Ctx {
            store,
            me: creds.identity.clone(),
            cfg: cfg.clone(),
            client,
            status: Mutex::new(BTreeMap::new()),
            active: Mutex::new(HashSet::new()),
            shutdown,
        });
        let mut tasks = vec![tokio::spawn(accept_loop(ctx.clone(), endpoint.clone()))];
        for (i, peer) in cfg.peers.iter().enumerate() {
            tasks.push(tokio::spawn(dial_loop(ctx.clone(), endpoint.clone(), peer.clone(), i as u64)));
        }
        tracing::info!(node = %ctx.me.name, addr = ?endpoint.local_addr().ok(), "replication listening");
        Ok(Replicator { ctx, endpoint, shutdown: shutdown_tx, tasks })
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

    /// Closes every session (telling peers why) and the endpoint.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
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
                    let _ = run_session(ctx, conn, send, recv, peer).await;
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
    run_session(ctx.clone(), conn, send, recv, identity).await
}

struct ActiveGuard<'a>(&'a Ctx, String);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut a) = self.0.active.lock() {
            a.remove(&self.1);
        }
        with_status(self.0, &self.1, |p| p.connected = false);
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
) -> Result<(), String> {
    let name = peer.name.clone();
    let fresh = ctx.active.lock().map(|mut a| a.insert(name.clone())).unwrap_or(false);
    if !fresh {
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
