//! The HTTP JSON API (`/api/v1`), `/healthz`, `/metrics` and the OpenAPI document.
//!
//! Layout: [`problem`] renders every refusal as RFC 9457 problem+json; [`auth`] turns a bearer
//! token into the [`Staff`] acting (or admits the operator's admin token); [`routes`] holds the
//! handlers, each a thin translation of HTTP into one service call; [`openapi`] describes every
//! route; [`metrics`] counts what Prometheus scrapes.
//!
//! Invariants: a handler never writes anything itself (the service does, all or nothing); every
//! body is bounded ([`ApiConfig::body_bytes_max`], uploads [`ApiConfig::upload_bytes_max`]);
//! every client is rate-limited per address; every error a client sees has a stable code.

// A handler's error is the whole problem-details response, built once per refused request.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod console;
pub mod console_data;
pub mod desk;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod routes;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub use problem::Problem;

use crate::accounts::Accounts;
use crate::net::Replicator;
use crate::service::{Service, ServiceError};

/// Limits of the HTTP service.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The largest JSON or TOML body.
    pub body_bytes_max: usize,
    /// The largest uploaded scan.
    pub upload_bytes_max: usize,
    /// Sustained requests per second per client address…
    pub requests_per_second: u32,
    /// …and the burst allowed above it.
    pub burst: u32,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            body_bytes_max: 1024 * 1024,
            upload_bytes_max: 32 * 1024 * 1024,
            requests_per_second: 50,
            burst: 100,
        }
    }
}

/// Addresses the rate limiter remembers at most; beyond it, idle ones are forgotten first.
pub const RATE_LIMITED_CLIENTS_MAX: usize = 100_000;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    pub accounts: Arc<Accounts>,
    /// Absent when sync is disabled (a standalone node).
    pub replicator: Option<Arc<Replicator>>,
    /// The operator CLI's credential (`admin.token` in the data directory).
    pub admin_token: Arc<String>,
    pub config: ApiConfig,
    pub metrics: Arc<metrics::Metrics>,
    /// The peers this node dials (`[[sync.peers]]` of its config), by name: listed on the status
    /// even before a first dial fails, so a node cut off from the start shows as offline.
    pub configured_peers: Arc<Vec<String>>,
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl AppState {
    pub fn new(
        service: Arc<Service>,
        accounts: Arc<Accounts>,
        replicator: Option<Arc<Replicator>>,
        admin_token: String,
        config: ApiConfig,
    ) -> AppState {
        let per_second = NonZeroU32::new(config.requests_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = Arc::new(RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)));
        AppState {
            service,
            accounts,
            replicator,
            admin_token: Arc::new(admin_token),
            config,
            metrics: Arc::new(metrics::Metrics::new()),
            configured_peers: Arc::new(Vec::new()),
            limiter,
        }
    }

    /// The names of the peers this node dials (see [`AppState::configured_peers`]).
    pub fn with_configured_peers(mut self, names: Vec<String>) -> AppState {
        self.configured_peers = Arc::new(names);
        self
    }
}

/// The whole HTTP service.
pub fn router(state: AppState) -> Router {
    let body_max = state.config.body_bytes_max;
    routes::routes(&state)
        .merge(desk::routes())
        .merge(console::routes())
        .merge(console_data::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_max))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> Response {
    Problem::from(ServiceError::not_found("route.not_found", format!("没有这个地址:{}", uri.path())))
        .into_response()
}

async fn method_not_allowed() -> Response {
    Problem::from(ServiceError::new(405, "route.method_not_allowed", None, "该地址不支持此请求方法"))
        .into_response()
}

/// Rate limit per client address, then count and time the request for `/metrics`.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip());
    if state.limiter.len() > RATE_LIMITED_CLIENTS_MAX {
        state.limiter.retain_recent();
    }
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = request.method().to_string();
    if state.limiter.check_key(&client).is_err() {
        state.metrics.request(&method, &route, 429, 0.0);
        return Problem::from(ServiceError::new(
            429,
            "request.rate_limited",
            None,
            "请求过于频繁,请稍后再试",
        ))
        .into_response();
    }
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.request(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}
