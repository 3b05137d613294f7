//! The lossy UDP relay (`yikou_node::relay`) between a client socket and a UDP echo (or sink)
//! server, all on 127.0.0.1. Time is only ever asserted from below.

#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use yikou_node::relay::{Direction, Impairment, RELAY_QUEUE_PACKETS_MAX, Relay, RelayHandle, RelayStats};

fn seed() -> u64 {
    let seed = std::env::var("YIKOU_SEED").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(20_260_302);
    println!("relay test seed {seed} (replay with YIKOU_SEED={seed})");
    seed
}

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// What a server has seen: source addresses and payloads, in arrival order.
#[derive(Default)]
struct Seen {
    sources: HashSet<SocketAddr>,
    payloads: Vec<Vec<u8>>,
}

/// A UDP server on 127.0.0.1:0 that records what it receives and, if `echo`, sends it back.
async fn server(echo: bool) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let socket = UdpSocket::bind(localhost()).await.unwrap();
    let addr = socket.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else { continue };
            {
                let mut s = record.lock().unwrap();
                s.sources.insert(from);
                s.payloads.push(buf[..n].to_vec());
            }
            if echo {
                let _ = socket.send_to(&buf[..n], from).await;
            }
        }
    });
    (addr, seen)
}

async fn client() -> UdpSocket {
    UdpSocket::bind(localhost()).await.unwrap()
}

/// Everything that arrives at `socket` until nothing has for `quiet`.
async fn drain(socket: &UdpSocket, quiet: Duration) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65_535];
    while let Ok(Ok(n)) = tokio::time::timeout(quiet, socket.recv(&mut buf)).await {
        out.push(buf[..n].to_vec());
    }
    out
}

/// Waits until the relay has read `n` datagrams in `dir` (so that counters are final for them).
async fn wait_received(relay: &RelayHandle, dir: Direction, n: u64) {
    let start = Instant::now();
    while relay.direction_stats(dir).received < n {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "relay read {:?} of {n}",
            relay.direction_stats(dir)
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Sends `count` numbered datagrams in paced batches (the kernel drops datagrams nobody reads in
/// time; pacing on the relay's own counter keeps the run deterministic).
async fn send_numbered(relay: &RelayHandle, socket: &UdpSocket, count: u32, len: usize) {
    let base = relay.direction_stats(Direction::ToUpstream).received;
    for i in 0..count {
        let mut data = vec![0u8; len.max(4)];
        data[..4].copy_from_slice(&i.to_be_bytes());
        socket.send_to(&data, relay.local_addr()).await.unwrap();
        if i % 50 == 49 {
            wait_received(relay, Direction::ToUpstream, base + u64::from(i) + 1).await;
        }
    }
    wait_received(relay, Direction::ToUpstream, base + u64::from(count)).await;
}

#[tokio::test]
async fn perfect_link_forwards_both_ways_with_one_mapping_per_client() {
    let (upstream, seen) = server(true).await;
    let relay = Relay::start(localhost(), upstream, Impairment::default(), seed()).await.unwrap();
    let (a, b) = (client().await, client().await);
    for i in 0..10u8 {
        a.send_to(&[b'a', i], relay.local_addr()).await.unwrap();
        b.send_to(&[b'b', i], relay.local_addr()).await.unwrap();
    }
    let got_a = drain(&a, Duration::from_millis(300)).await;
    let got_b = drain(&b, Duration::from_millis(100)).await;
    assert_eq!(got_a, (0..10u8).map(|i| vec![b'a', i]).collect::<Vec<_>>());
    assert_eq!(got_b, (0..10u8).map(|i| vec![b'b', i]).collect::<Vec<_>>());
    assert_eq!(seen.lock().unwrap().sources.len(), 2, "one upstream socket per client");
    assert_eq!(relay.clients(), 2);
    let up = relay.direction_stats(Direction::ToUpstream);
    assert_eq!((up.received, up.forwarded, up.bytes), (20, 20, 40));
    let down = relay.direction_stats(Direction::ToClient);
    assert_eq!((down.received, down.forwarded, down.bytes), (20, 20, 40));
    assert_eq!(relay.stats(), RelayStats { received: 40, forwarded: 40, bytes: 80, ..RelayStats::default() });
    relay.shutdown().await;
}

#[tokio::test]
async fn total_loss_drops_everything() {
    let (upstream, seen) = server(true).await;
    let loss = Impairment { loss: 1.0, ..Impairment::default() };
    let relay = Relay::start(localhost(), upstream, loss, seed()).await.unwrap();
    let c = client().await;
    send_numbered(&relay, &c, 100, 8).await;
    assert!(drain(&c, Duration::from_millis(200)).await.is_empty());
    assert!(seen.lock().unwrap().payloads.is_empty());
    let s = relay.stats();
    assert_eq!((s.received, s.dropped_loss, s.forwarded), (100, 100, 0));
}

/// Sends 2,000 datagrams through 20 % loss to a sink; returns what the relay dropped and the
/// numbers of the datagrams the sink got.
async fn lossy_run(seed: u64) -> (u64, Vec<u32>) {
    let (upstream, seen) = server(false).await;
    let loss = Impairment { loss: 0.2, ..Impairment::default() };
    let relay = Relay::start(localhost(), upstream, loss, seed).await.unwrap();
    let c = client().await;
    send_numbered(&relay, &c, 2000, 8).await;
    let s = relay.direction_stats(Direction::ToUpstream);
    assert_eq!(s.dropped_loss + s.forwarded, 2000, "{s:?}");
    let start = Instant::now();
    while (seen.lock().unwrap().payloads.len() as u64) < s.forwarded {
        assert!(start.elapsed() < Duration::from_secs(5), "the sink is missing datagrams");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut numbers: Vec<u32> = seen
        .lock()
        .unwrap()
        .payloads
        .iter()
        .map(|p| u32::from_be_bytes(p[..4].try_into().unwrap()))
        .collect();
    numbers.sort_unstable();
    relay.shutdown().await;
    (s.dropped_loss, numbers)
}

#[tokio::test]
async fn partial_loss_is_in_range_and_the_same_for_the_same_seed() {
    let seed = seed();
    let (dropped, delivered) = lossy_run(seed).await;
    assert!((200..=600).contains(&dropped), "20 % of 2,000 dropped: {dropped}");
    assert_eq!(delivered.len() as u64, 2000 - dropped);
    let (dropped_again, delivered_again) = lossy_run(seed).await;
    assert_eq!(dropped, dropped_again, "same seed, same losses");
    assert_eq!(delivered, delivered_again, "same seed, same datagrams lost");
}

#[tokio::test]
async fn partition_drops_then_heals_at_runtime() {
    let (upstream, _) = server(true).await;
    let relay = Relay::start(localhost(), upstream, Impairment::default(), seed()).await.unwrap();
    let c = client().await;
    c.send_to(b"before", relay.local_addr()).await.unwrap();
    assert_eq!(drain(&c, Duration::from_millis(200)).await, vec![b"before".to_vec()]);

    relay.partition(true);
    assert!(relay.impairment().partitioned);
    send_numbered(&relay, &c, 10, 8).await;
    assert!(drain(&c, Duration::from_millis(200)).await.is_empty());
    assert_eq!(relay.stats().dropped_partition, 10);

    relay.partition(false);
    c.send_to(b"after", relay.local_addr()).await.unwrap();
    assert_eq!(drain(&c, Duration::from_millis(200)).await, vec![b"after".to_vec()]);
    assert_eq!(relay.stats().dropped_partition, 10);
}

#[tokio::test]
async fn delay_applies_in_each_direction() {
    let (upstream, _) = server(true).await;
    let relay = Relay::start(localhost(), upstream, Impairment::default(), seed()).await.unwrap();
    relay.set_impairment(Impairment { delay_ms: 200, ..Impairment::default() });
    let c = client().await;
    let start = Instant::now();
    c.send_to(b"ping", relay.local_addr()).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), c.recv(&mut buf)).await.unwrap().unwrap();
    let rtt = start.elapsed();
    assert_eq!(&buf[..n], b"ping");
    assert!(rtt >= Duration::from_millis(395), "200 ms each way, round trip {rtt:?}");
}

#[tokio::test]
async fn bandwidth_limit_serialises_a_burst() {
    let (upstream, seen) = server(false).await;
    let slow = Impairment { bandwidth_bytes_per_s: Some(50_000), ..Impairment::default() };
    let relay = Relay::start(localhost(), upstream, slow, seed()).await.unwrap();
    let c = client().await;
    let start = Instant::now();
    send_numbered(&relay, &c, 100, 1000).await;
    while seen.lock().unwrap().payloads.len() < 100 {
        assert!(start.elapsed() < Duration::from_secs(10), "the burst did not arrive");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = start.elapsed();
    // 100,000 bytes at 50,000 B/s: 2 s.
    assert!(took >= Duration::from_millis(1500), "100 kB at 50 kB/s took {took:?}");
    assert_eq!(relay.stats().bytes, 100_000);
}

#[tokio::test]
async fn duplicate_sends_each_datagram_twice_each_way() {
    let (upstream, seen) = server(true).await;
    let dup = Impairment { duplicate: 1.0, ..Impairment::default() };
    let relay = Relay::start(localhost(), upstream, dup, seed()).await.unwrap();
    let c = client().await;
    send_numbered(&relay, &c, 10, 4).await;
    let got = drain(&c, Duration::from_millis(300)).await;
    let mut per: HashMap<Vec<u8>, usize> = HashMap::new();
    for g in got {
        *per.entry(g).or_default() += 1;
    }
    assert_eq!(per.len(), 10);
    assert!(per.values().all(|&n| n == 4), "twice up, each copy twice down: {per:?}");
    assert_eq!(seen.lock().unwrap().payloads.len(), 20);
    assert_eq!(relay.direction_stats(Direction::ToUpstream).duplicated, 10);
    assert_eq!(relay.direction_stats(Direction::ToClient).duplicated, 20);
    assert_eq!(relay.stats().forwarded, 60);
}

#[tokio::test]
async fn reorder_holds_a_datagram_back_behind_the_next() {
    let (upstream, seen) = server(false).await;
    let reorder = Impairment { reorder: 1.0, ..Impairment::default() };
    let relay = Relay::start(localhost(), upstream, reorder, seed()).await.unwrap();
    let c = client().await;
    send_numbered(&relay, &c, 10, 4).await;
    let start = Instant::now();
    while seen.lock().unwrap().payloads.len() < 10 {
        assert!(start.elapsed() < Duration::from_secs(5), "reordered datagrams were lost");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let order: Vec<u32> = seen
        .lock()
        .unwrap()
        .payloads
        .iter()
        .map(|p| u32::from_be_bytes(p[..4].try_into().unwrap()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    assert!(relay.stats().reordered >= 1);
    assert_ne!(order, sorted, "some datagram arrived out of order");
}

#[tokio::test]
async fn a_flood_into_a_long_delay_fills_the_queue_and_is_counted() {
    let (upstream, seen) = server(false).await;
    let long = Impairment { delay_ms: 60_000, ..Impairment::default() };
    let relay = Relay::start(localhost(), upstream, long, seed()).await.unwrap();
    let c = client().await;
    let flood = RELAY_QUEUE_PACKETS_MAX as u32 + 200;
    send_numbered(&relay, &c, flood, 8).await;
    let s = relay.stats();
    assert_eq!(s.dropped_queue_full, 200, "{s:?}");
    assert_eq!(s.forwarded, 0);
    assert!(seen.lock().unwrap().payloads.is_empty());
    relay.shutdown().await;
}
