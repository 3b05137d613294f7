//! `/metrics` in the Prometheus text format: requests and their latency per route (label values
//! are route templates, so their number is bounded by the routes), intakes, and — read at scrape
//! time — store size and per-peer sync lag.

use std::sync::atomic::{AtomicI64, AtomicU64};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    intakes: Family<Labels, Counter>,
    store_documents: Gauge,
    store_bytes: Gauge,
    feed_seq: Gauge,
    sessions: Gauge,
    peer_connected: Family<Labels, Gauge>,
    peer_docs_behind: Family<Labels, Gauge>,
    peer_contact_age: Family<Labels, Gauge<f64, AtomicU64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("yikou");
        let requests = Family::<Labels, Counter>::default();
        let latency = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let intakes = Family::<Labels, Counter>::default();
        let store_documents = Gauge::<i64, AtomicI64>::default();
        let store_bytes = Gauge::<i64, AtomicI64>::default();
        let feed_seq = Gauge::<i64, AtomicI64>::default();
        let sessions = Gauge::<i64, AtomicI64>::default();
        let peer_connected = Family::<Labels, Gauge>::default();
        let peer_docs_behind = Family::<Labels, Gauge>::default();
        let peer_contact_age = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        registry.register("http_requests", "HTTP requests by method, route and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route", latency.clone());
        registry.register("intakes", "Applications received at this node, by channel", intakes.clone());
        registry.register(
            "store_documents",
            "Documents held (cases and reference data)",
            store_documents.clone(),
        );
        registry.register("store_bytes", "Bytes the store occupies on disk", store_bytes.clone());
        registry.register("feed_seq", "The store's latest change-feed position", feed_seq.clone());
        registry.register("sessions", "Staff login sessions open", sessions.clone());
        registry.register("peer_connected", "1 while a peer is connected", peer_connected.clone());
        registry.register(
            "peer_docs_behind",
            "This node's documents a peer has not acknowledged (sync lag)",
            peer_docs_behind.clone(),
        );
        registry.register(
            "peer_last_contact_age_seconds",
            "Seconds since the last message from a peer",
            peer_contact_age.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            intakes,
            store_documents,
            store_bytes,
            feed_seq,
            sessions,
            peer_connected,
            peer_docs_behind,
            peer_contact_age,
        }
    }

    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = vec![
            ("method".to_string(), method.to_string()),
            ("route".to_string(), route.to_string()),
            ("status".to_string(), status.to_string()),
        ];
        self.requests.get_or_create(&labels).inc();
        if status != 429 {
            self.latency.get_or_create(&vec![("route".to_string(), route.to_string())]).observe(seconds);
        }
    }

    pub fn intake(&self, channel: &str) {
        self.intakes.get_or_create(&vec![("channel".to_string(), channel.to_string())]).inc();
    }

    /// Renders the text format after reading the gauges from the node.
    pub fn render(&self, state: &super::AppState) -> String {
        let store = state.service.store();
        self.store_documents.set(store.doc_count().map_or(0, |n| n as i64));
        self.store_bytes.set(store.size_on_disk().map_or(0, |n| n as i64));
        self.feed_seq.set(store.last_seq().map_or(0, |n| n as i64));
        self.sessions.set(state.accounts.session_count() as i64);
        if let Some(replicator) = &state.replicator {
            let now_ms = crate::clock::now_ms();
            for peer in replicator.status() {
                let labels = vec![("peer".to_string(), peer.name.clone())];
                self.peer_connected.get_or_create(&labels).set(i64::from(peer.connected));
                self.peer_docs_behind.get_or_create(&labels).set(peer.docs_behind as i64);
                if let Some(ms) = peer.last_contact_ms {
                    let age = (now_ms - ms as i64).max(0) as f64 / 1000.0;
                    self.peer_contact_age.get_or_create(&labels).set(age);
                }
            }
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
