//! # yikou-node: the node (library part)
//!
//! The only crate that owns disks, sockets, HTTP and the clock. Layout:
//! - [`config`]: the configuration file (`yikou.toml`, every key with a default) and the data
//!   directory's layout; [`init`]: `yikou init`, a new node's data directory.
//! - [`backup`]: a consistent logical backup of a store, and its restore into an empty one.
//! - [`clock`]: the node's one reading of the wall clock (the schema never reads one).
//! - [`doc`]: the Automerge document layout of a case and of shared reference data (a
//!   compatibility boundary, versioned by [`doc::DOC_LAYOUT_VERSION`]).
//! - [`store`]: cases as Automerge documents in sled: snapshots plus change chunks, a change feed,
//!   secondary indexes, checksums, group-committed fsync, attachments, a bounded document cache.
//! - [`pki`]: the private network CA (certificates, revocation lists) and the mutual-TLS QUIC
//!   configs of replication; a node's identity travels in its certificate.
//! - [`replica`]: replication's storage side (answers to the sync core's storage requests) and
//!   the scope policy (O5).
//! - [`net`]: the quinn driver of replication (mutual TLS, one session per connection, back-off).
//! - [`accounts`]: staff accounts (argon2id, local to the node, never replicated) and in-memory
//!   login sessions.
//! - [`fixtures`]: realistic sample cases for tests, benchmarks and the demo.
//! - [`reports`]: W10 indicators and the W2.5 consultation analysis for a period, as JSON data
//!   and as an .xlsx workbook.
//! - [`relay`]: a lossy UDP relay (loss, delay, bandwidth, partitions) for tests over bad links.
//! - [`print`]: printable documents as self-contained A4 HTML pages (no external resources).
//!
//! The binary `yikou` (`main.rs`) is the command line over these.

pub mod accounts;
pub mod api;
pub mod backup;
pub mod clock;
pub mod config;
pub mod demo;
pub mod doc;
pub mod fixtures;
pub mod init;
pub mod net;
pub mod pki;
pub mod print;
pub mod relay;
pub mod replica;
pub mod reports;
pub mod server;
pub mod service;
pub mod store;
