//! A lossy UDP relay between QUIC clients and one server, for trying replication over a bad link
//! by hand (see `yikou_node::relay`). Not part of the product.
//!
//! Usage: yikou-relay --listen 127.0.0.1:7001 --upstream 127.0.0.1:7000 [--loss 0.2]
//! [--delay-ms 300] [--jitter-ms 0] [--bandwidth-kbit 1000] [--duplicate 0.0] [--reorder 0.0]
//! [--seed N]
//!
//! Prints its listen address and seed, runs until SIGTERM or ctrl-c, then prints its counters.

use std::net::SocketAddr;

use anyhow::Result;
use clap::Parser;
use yikou_node::relay::{Direction, Impairment, Relay};

#[derive(Parser, Debug)]
#[command(name = "yikou-relay", about = "A lossy UDP relay for testing replication over bad links")]
struct Args {
    /// Address the clients send to.
    #[arg(long)]
    listen: SocketAddr,
    /// The server's address.
    #[arg(long)]
    upstream: SocketAddr,
    /// Probability that a datagram is dropped (0..=1).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// One-way delay, in milliseconds (each direction).
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Uniform variation of the delay, ± milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Link rate per direction, in kbit/s (payload bytes); unlimited if absent.
    #[arg(long)]
    bandwidth_kbit: Option<u64>,
    /// Probability that a datagram is sent twice (0..=1).
    #[arg(long, default_value_t = 0.0)]
    duplicate: f64,
    /// Probability that a datagram is held back and sent after the next one (0..=1).
    #[arg(long, default_value_t = 0.0)]
    reorder: f64,
    /// Seed of the relay's decisions; from the clock if absent (printed either way).
    #[arg(long)]
    seed: Option<u64>,
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

fn probability(name: &str, p: f64) -> Result<f64> {
    anyhow::ensure!((0.0..=1.0).contains(&p), "--{name} must be between 0 and 1, got {p}");
    Ok(p)
}

async fn terminated() -> Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let impairment = Impairment {
        loss: probability("loss", args.loss)?,
        duplicate: probability("duplicate", args.duplicate)?,
        reorder: probability("reorder", args.reorder)?,
        delay_ms: args.delay_ms,
        jitter_ms: args.jitter_ms,
        bandwidth_bytes_per_s: args.bandwidth_kbit.map(|k| k.saturating_mul(1000) / 8),
        partitioned: false,
    };
    let seed = args.seed.unwrap_or_else(clock_seed);
    let relay = Relay::start(args.listen, args.upstream, impairment, seed).await?;
    println!("yikou-relay listening on {} -> {} seed {seed}", relay.local_addr(), relay.upstream());
    println!("impairment: {:?}", relay.impairment());
    terminated().await?;
    for dir in [Direction::ToUpstream, Direction::ToClient] {
        println!("{dir:?}: {:?}", relay.direction_stats(dir));
    }
    relay.shutdown().await;
    Ok(())
}
