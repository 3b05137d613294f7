//! A user-space lossy UDP relay, for testing replication over bad links on a machine without
//! netem (and without root): QUIC clients talk to the relay's address instead of the server's.
//!
//! The relay listens on one socket. For each distinct client source address it opens its own
//! upstream socket (like a NAT), so the server sees one address per client and its replies find
//! their way back. Each datagram, in each direction, goes through the same [`Impairment`]:
//!
//! - **partition**: everything is dropped (also what is already queued, when it falls due);
//! - **loss**: dropped with probability `loss`;
//! - **bandwidth**: a serialisation delay; each direction is a link that is busy for
//!   `len / bandwidth` seconds per datagram (payload bytes only, no IP/UDP headers), so a burst
//!   queues up behind the ones before it;
//! - **delay and jitter**: then `delay_ms` plus a uniform offset in `±jitter_ms` (never below
//!   zero), so a large jitter reorders datagrams as it does on a real path;
//! - **duplicate**: with probability `duplicate` a second copy is sent right after the first;
//! - **reorder**: with probability `reorder` a datagram is held back and sent right after the next
//!   datagram of its direction, or [`REORDER_HOLD_MS`] later than it was due if none comes.
//!
//! Every decision comes from a seeded PRNG (SplitMix64, one stream per direction, four draws per
//! datagram whatever the impairment), so the same seed and the same sequence of datagrams give
//! the same losses, copies and reorderings. The timing of the real sockets and timers is of
//! course not deterministic. The seed is logged at start.
//!
//! Not simulated: MTU changes or fragmentation, ICMP (unreachable, packet too big), corruption,
//! address rebinding, or asymmetric impairments (one [`Impairment`] applies to both directions,
//! independently). A change of impairment applies to datagrams received from then on; queued
//! ones keep their due time (except that a partition drops them).
//!
//! Bounds: [`RELAY_QUEUE_PACKETS_MAX`] queued datagrams per direction (beyond that they are
//! dropped and counted in `dropped_queue_full`, like a router's tail drop),
//! [`RELAY_CLIENTS_MAX`] client mappings (a new client beyond that first evicts mappings idle for
//! [`RELAY_CLIENT_IDLE`], else its datagrams are dropped and counted in `dropped_client_limit`),
//! datagrams of at most [`DATAGRAM_BYTES_MAX`] bytes, delays of at most [`RELAY_DELAY_MS_MAX`].
//! Delayed delivery is one timer task per direction over a heap keyed by due time.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Datagrams queued (delayed, serialised or held back) per direction; beyond it they are dropped.
pub const RELAY_QUEUE_PACKETS_MAX: usize = 1024;
/// Client mappings (one upstream socket each).
pub const RELAY_CLIENTS_MAX: usize = 256;
/// Largest datagram relayed (the largest UDP payload fits).
pub const DATAGRAM_BYTES_MAX: usize = 65_535;
/// A mapping idle this long may be evicted when the table is full and a new client arrives.
pub const RELAY_CLIENT_IDLE: Duration = Duration::from_secs(120);
/// Largest `delay_ms` and `jitter_ms` taken (larger values are clamped).
pub const RELAY_DELAY_MS_MAX: u64 = 600_000;
/// Longest a reordered datagram waits for the next one to overtake it.
pub const REORDER_HOLD_MS: u64 = 50;

/// What the link does to datagrams; [`Default`] is a perfect link. Probabilities are clamped to
/// `0..=1` (NaN counts as 0), delays to [`RELAY_DELAY_MS_MAX`], a bandwidth of 0 to 1 byte/s.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Impairment {
    /// Probability that a datagram is dropped.
    pub loss: f64,
    /// Probability that a datagram is sent twice.
    pub duplicate: f64,
    /// Probability that a datagram is held back and sent after the next one.
    pub reorder: f64,
    /// One-way delay added to every datagram.
    pub delay_ms: u64,
    /// Uniform variation of the delay, in `±jitter_ms`.
    pub jitter_ms: u64,
    /// Link rate per direction (payload bytes); `None` is unlimited.
    pub bandwidth_bytes_per_s: Option<u64>,
    /// Drop everything.
    pub partitioned: bool,
}

impl Impairment {
    fn sanitized(self) -> Self {
        let p = |x: f64| if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
        Impairment {
            loss: p(self.loss),
            duplicate: p(self.duplicate),
            reorder: p(self.reorder),
            delay_ms: self.delay_ms.min(RELAY_DELAY_MS_MAX),
            jitter_ms: self.jitter_ms.min(RELAY_DELAY_MS_MAX),
            bandwidth_bytes_per_s: self.bandwidth_bytes_per_s.map(|b| b.max(1)),
            partitioned: self.partitioned,
        }
    }
}

/// One direction of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the clients to the upstream server.
    ToUpstream,
    /// From the upstream server back to a client.
    ToClient,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::ToUpstream => 0,
            Direction::ToClient => 1,
        }
    }
}

/// Counters, for both directions together ([`RelayHandle::stats`]) or for one
/// ([`RelayHandle::direction_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RelayStats {
    /// Datagrams read from the sockets, before any impairment.
    pub received: u64,
    /// Datagrams sent on (each copy of a duplicate counts).
    pub forwarded: u64,
    /// Dropped by `loss`.
    pub dropped_loss: u64,
    /// Dropped by a partition (on arrival, or when queued and falling due during one).
    pub dropped_partition: u64,
    /// Dropped because [`RELAY_QUEUE_PACKETS_MAX`] datagrams were queued in that direction.
    pub dropped_queue_full: u64,
    /// Dropped because the client was new and [`RELAY_CLIENTS_MAX`] mappings were in use.
    pub dropped_client_limit: u64,
    /// Extra copies made by `duplicate`.
    pub duplicated: u64,
    /// Datagrams held back by `reorder`.
    pub reordered: u64,
    /// Payload bytes sent on.
    pub bytes: u64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    forwarded: AtomicU64,
    dropped_loss: AtomicU64,
    dropped_partition: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_client_limit: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    bytes: AtomicU64,
}

fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, AtomicOrdering::Relaxed);
}

impl Counters {
    fn snapshot(&self) -> RelayStats {
        let r = |c: &AtomicU64| c.load(AtomicOrdering::Relaxed);
        RelayStats {
            received: r(&self.received),
            forwarded: r(&self.forwarded),
            dropped_loss: r(&self.dropped_loss),
            dropped_partition: r(&self.dropped_partition),
            dropped_queue_full: r(&self.dropped_queue_full),
            dropped_client_limit: r(&self.dropped_client_limit),
            duplicated: r(&self.duplicated),
            reordered: r(&self.reordered),
            bytes: r(&self.bytes),
        }
    }
}

/// SplitMix64: small, seedable, good enough for impairment decisions.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A datagram waiting for its due time.
struct Queued {
    due: Instant,
    seq: u64,
    data: Vec<u8>,
    socket: Arc<UdpSocket>,
    to: SocketAddr,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// A datagram held back by `reorder`, until the next one passes or its deadline.
struct Held {
    item: Queued,
    deadline: Instant,
}

/// One direction's link: decisions, serialisation and the timer queue.
struct Lane {
    rng: SplitMix64,
    busy_until: Instant,
    seq: u64,
    heap: BinaryHeap<Reverse<Queued>>,
    held: Option<Held>,
}

impl Lane {
    fn queued(&self) -> usize {
        self.heap.len() + usize::from(self.held.is_some())
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

struct Client {
    socket: Arc<UdpSocket>,
    last_seen: Instant,
    task: JoinHandle<()>,
}

struct Shared {
    upstream: SocketAddr,
    seed: u64,
    impairment: Mutex<Impairment>,
    lanes: [Mutex<Lane>; 2],
    wake: [Notify; 2],
    counters: [Counters; 2],
    clients: Mutex<HashMap<SocketAddr, Client>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn millis_f64(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::ZERO)
}

impl Shared {
    fn impairment(&self) -> Impairment {
        *lock(&self.impairment)
    }

    /// Applies the impairment to one received datagram and queues what survives.
    fn admit(&self, dir: Direction, data: &[u8], socket: &Arc<UdpSocket>, to: SocketAddr) {
        let i = dir.index();
        let counters = &self.counters[i];
        bump(&counters.received, 1);
        let imp = self.impairment();
        let now = Instant::now();
        let mut lane = lock(&self.lanes[i]);
        // Always four draws, so that datagram n of a direction gets the same numbers whatever
        // the impairment was for the ones before it.
        let (r_loss, r_dup, r_reorder, r_jitter) =
            (lane.rng.next_f64(), lane.rng.next_f64(), lane.rng.next_f64(), lane.rng.next_f64());
        if imp.partitioned {
            bump(&counters.dropped_partition, 1);
            return;
        }
        if r_loss < imp.loss {
            bump(&counters.dropped_loss, 1);
            return;
        }
        let wanted = if r_dup < imp.duplicate { 2 } else { 1 };
        let copies = wanted.min(RELAY_QUEUE_PACKETS_MAX.saturating_sub(lane.queued()));
        if copies == 0 {
            bump(&counters.dropped_queue_full, 1);
            return;
        }
        if copies < wanted {
            bump(&counters.dropped_queue_full, 1);
        } else if copies > 1 {
            bump(&counters.duplicated, 1);
        }
        let jitter = (r_jitter * 2.0 - 1.0) * imp.jitter_ms as f64;
        let delay = millis_f64((imp.delay_ms as f64 + jitter).max(0.0));
        let mut items = Vec::with_capacity(copies);
        for _ in 0..copies {
            let depart = match imp.bandwidth_bytes_per_s {
                Some(rate) => {
                    let busy = Duration::from_nanos(data.len() as u64 * 1_000_000_000 / rate);
                    lane.busy_until = lane.busy_until.max(now) + busy;
                    lane.busy_until
                }
                None => now,
            };
            let seq = lane.next_seq();
            items.push(Queued { due: depart + delay, seq, data: data.to_vec(), socket: socket.clone(), to });
        }
        if let Some(held) = lane.held.take() {
            // This datagram is the next one: it overtakes the held-back one.
            let last_due = items.iter().map(|q| q.due).max().unwrap_or(now);
            let mut item = held.item;
            item.due = item.due.max(last_due);
            item.seq = lane.next_seq();
            lane.heap.extend(items.into_iter().map(Reverse));
            lane.heap.push(Reverse(item));
        } else {
            let mut items = items.into_iter();
            if r_reorder < imp.reorder
                && let Some(first) = items.next()
            {
                bump(&counters.reordered, 1);
                let deadline = first.due + Duration::from_millis(REORDER_HOLD_MS);
                lane.held = Some(Held { item: first, deadline });
            }
            lane.heap.extend(items.map(Reverse));
        }
        drop(lane);
        self.wake[i].notify_one();
    }
}

/// The relay's timer task for one direction: sends queued datagrams when they fall due.
async fn run_lane(shared: Arc<Shared>, dir: Direction) {
    let i = dir.index();
    let counters = &shared.counters[i];
    loop {
        let (batch, next) = {
            let mut lane = lock(&shared.lanes[i]);
            let now = Instant::now();
            if lane.held.as_ref().is_some_and(|h| h.deadline <= now)
                && let Some(held) = lane.held.take()
            {
                lane.heap.push(Reverse(held.item));
            }
            let mut batch = Vec::new();
            while lane.heap.peek().is_some_and(|Reverse(q)| q.due <= now) {
                if let Some(Reverse(q)) = lane.heap.pop() {
                    batch.push(q);
                }
            }
            let next =
                match (lane.heap.peek().map(|Reverse(q)| q.due), lane.held.as_ref().map(|h| h.deadline)) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            (batch, next)
        };
        if !batch.is_empty() {
            let partitioned = shared.impairment().partitioned;
            for q in batch {
                if partitioned {
                    bump(&counters.dropped_partition, 1);
                    continue;
                }
                match q.socket.send_to(&q.data, q.to).await {
                    Ok(_) => {
                        bump(&counters.forwarded, 1);
                        bump(&counters.bytes, q.data.len() as u64);
                    }
                    Err(e) => tracing::debug!(?dir, to = %q.to, error = %e, "relay: send failed"),
                }
            }
            continue;
        }
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = shared.wake[i].notified() => {}
                }
            }
            None => shared.wake[i].notified().await,
        }
    }
}

/// Reads the upstream server's replies to one client and sends them back through the lane.
async fn run_client(
    shared: Arc<Shared>,
    upstream_socket: Arc<UdpSocket>,
    listen_socket: Arc<UdpSocket>,
    client: SocketAddr,
) {
    let mut buf = vec![0u8; DATAGRAM_BYTES_MAX];
    loop {
        match upstream_socket.recv_from(&mut buf).await {
            Ok((n, from)) if from == shared.upstream => {
                shared.admit(Direction::ToClient, &buf[..n], &listen_socket, client);
            }
            Ok((_, from)) => tracing::debug!(%from, %client, "relay: ignored a datagram not from upstream"),
            Err(e) => {
                tracing::debug!(%client, error = %e, "relay: upstream receive failed");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

fn bind_upstream_socket(upstream: SocketAddr) -> io::Result<UdpSocket> {
    let ip = match upstream {
        SocketAddr::V4(a) if a.ip().is_loopback() => Ipv4Addr::LOCALHOST.into(),
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(a) if a.ip().is_loopback() => Ipv6Addr::LOCALHOST.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket)
}

/// The upstream socket of the client at `from`, opening one (and its reader task) if new;
/// `None` if the client table is full.
fn client_socket(
    shared: &Arc<Shared>,
    listen_socket: &Arc<UdpSocket>,
    from: SocketAddr,
) -> Option<Arc<UdpSocket>> {
    let mut clients = lock(&shared.clients);
    let now = Instant::now();
    if let Some(c) = clients.get_mut(&from) {
        c.last_seen = now;
        return Some(c.socket.clone());
    }
    if clients.len() >= RELAY_CLIENTS_MAX {
        clients.retain(|addr, c| {
            let keep = now.saturating_duration_since(c.last_seen) < RELAY_CLIENT_IDLE;
            if !keep {
                tracing::debug!(client = %addr, "relay: evicted an idle client mapping");
                c.task.abort();
            }
            keep
        });
        if clients.len() >= RELAY_CLIENTS_MAX {
            return None;
        }
    }
    let socket = match bind_upstream_socket(shared.upstream) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            tracing::warn!(client = %from, error = %e, "relay: could not open an upstream socket");
            return None;
        }
    };
    let task = tokio::spawn(run_client(shared.clone(), socket.clone(), listen_socket.clone(), from));
    tracing::debug!(client = %from, via = ?socket.local_addr().ok(), "relay: new client mapping");
    clients.insert(from, Client { socket: socket.clone(), last_seen: now, task });
    Some(socket)
}

/// Reads the clients' datagrams and sends them upstream through the lane.
async fn run_listener(shared: Arc<Shared>, listen_socket: Arc<UdpSocket>) {
    let mut buf = vec![0u8; DATAGRAM_BYTES_MAX];
    loop {
        let (n, from) = match listen_socket.recv_from(&mut buf).await {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(error = %e, "relay: receive failed");
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        match client_socket(&shared, &listen_socket, from) {
            Some(socket) => shared.admit(Direction::ToUpstream, &buf[..n], &socket, shared.upstream),
            None => {
                let counters = &shared.counters[Direction::ToUpstream.index()];
                bump(&counters.received, 1);
                bump(&counters.dropped_client_limit, 1);
            }
        }
    }
}

/// The relay; [`Relay::start`] runs one.
pub struct Relay;

impl Relay {
    /// Binds `listen` and starts relaying to `upstream` under `impairment`, with decisions drawn
    /// from `seed`. Must be called within a tokio runtime; the relay runs until its handle is shut
    /// down or dropped.
    pub async fn start(
        listen: SocketAddr,
        upstream: SocketAddr,
        impairment: Impairment,
        seed: u64,
    ) -> io::Result<RelayHandle> {
        let listen_socket = Arc::new(UdpSocket::bind(listen).await?);
        let local_addr = listen_socket.local_addr()?;
        let impairment = impairment.sanitized();
        let now = Instant::now();
        let lane = |stream: u64| {
            Mutex::new(Lane {
                rng: SplitMix64(seed ^ stream),
                busy_until: now,
                seq: 0,
                heap: BinaryHeap::new(),
                held: None,
            })
        };
        let shared = Arc::new(Shared {
            upstream,
            seed,
            impairment: Mutex::new(impairment),
            lanes: [lane(0x5EED_0000_0000_0001), lane(0x5EED_0000_0000_0002)],
            wake: [Notify::new(), Notify::new()],
            counters: [Counters::default(), Counters::default()],
            clients: Mutex::new(HashMap::new()),
        });
        tracing::info!(%local_addr, %upstream, seed, ?impairment, "relay started");
        let tasks = vec![
            tokio::spawn(run_listener(shared.clone(), listen_socket)),
            tokio::spawn(run_lane(shared.clone(), Direction::ToUpstream)),
            tokio::spawn(run_lane(shared.clone(), Direction::ToClient)),
        ];
        Ok(RelayHandle { shared, local_addr, tasks })
    }
}

/// A running relay. Dropping it stops the relay's tasks (their sockets close once the runtime
/// drops them); [`RelayHandle::shutdown`] also waits for that.
pub struct RelayHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl RelayHandle {
    /// The address clients send to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server's address.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// The seed of the relay's decisions.
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// The impairment in force (after clamping).
    pub fn impairment(&self) -> Impairment {
        self.shared.impairment()
    }

    /// Replaces the impairment of both directions, from the next datagram on.
    pub fn set_impairment(&self, impairment: Impairment) {
        let impairment = impairment.sanitized();
        tracing::info!(?impairment, "relay impairment changed");
        *lock(&self.shared.impairment) = impairment;
    }

    /// Cuts (`true`) or heals (`false`) the link in both directions, keeping the rest of the
    /// impairment.
    pub fn partition(&self, partitioned: bool) {
        tracing::info!(partitioned, "relay partition changed");
        lock(&self.shared.impairment).partitioned = partitioned;
    }

    /// Counters of both directions together.
    pub fn stats(&self) -> RelayStats {
        let [a, b] = [&self.shared.counters[0], &self.shared.counters[1]].map(Counters::snapshot);
        RelayStats {
            received: a.received + b.received,
            forwarded: a.forwarded + b.forwarded,
            dropped_loss: a.dropped_loss + b.dropped_loss,
            dropped_partition: a.dropped_partition + b.dropped_partition,
            dropped_queue_full: a.dropped_queue_full + b.dropped_queue_full,
            dropped_client_limit: a.dropped_client_limit + b.dropped_client_limit,
            duplicated: a.duplicated + b.duplicated,
            reordered: a.reordered + b.reordered,
            bytes: a.bytes + b.bytes,
        }
    }

    /// Counters of one direction.
    pub fn direction_stats(&self, dir: Direction) -> RelayStats {
        self.shared.counters[dir.index()].snapshot()
    }

    /// Client mappings in use.
    pub fn clients(&self) -> usize {
        lock(&self.shared.clients).len()
    }

    /// Stops the relay and waits until its tasks have ended and its sockets are closed.
    pub async fn shutdown(mut self) {
        let mut tasks = std::mem::take(&mut self.tasks);
        tasks.extend(lock(&self.shared.clients).drain().map(|(_, c)| c.task));
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        self.clear_queues();
    }

    fn clear_queues(&self) {
        for lane in &self.shared.lanes {
            let mut lane = lock(lane);
            lane.heap.clear();
            lane.held = None;
        }
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for (_, c) in lock(&self.shared.clients).drain() {
            c.task.abort();
        }
        self.clear_queues();
    }
}
