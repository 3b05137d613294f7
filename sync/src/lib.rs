//! # yikou-sync: the replication protocol core
//!
//! Peer sessions as state machines without I/O (in the manner of quinn-proto): fed with messages,
//! storage answers and news of local writes, they emit messages, storage requests and events as
//! data. The thin quinn driver and the storage behind the requests live in `yikou-node`.
//!
//! Layout: bytes → [`wire`] (frames and messages, every bound named) → [`session`] (one peer:
//! hello, feed subscription with checkpoints, offer / want / data, acknowledgements) →
//! [`recon`] (range-based set reconciliation, the backstop when a checkpoint is lost or an
//! epoch changed) · [`backoff`] (reconnect delays).
//!
//! Architecture invariant: this crate knows nothing of cases, sockets, disks or clocks. It
//! replicates scoped Automerge documents (named by id, identified by their heads) under a
//! [`session::Policy`] it is given.

pub mod backoff;
pub mod recon;
pub mod session;
pub mod wire;

/// The sync wire format's version. Bumped only with a migration (see ARCHITECTURE.md).
pub const PROTOCOL_VERSION: u16 = 1;
/// The oldest wire format this build still speaks.
pub const PROTOCOL_VERSION_MIN: u16 = 1;

pub use session::{Event, Limits, Output, Policy, Reply, Request, Session, SessionConfig};
pub use wire::{Cursor, DocData, DocHeads, Hash, Message, Refusal};

#[cfg(test)]
mod tests {
    #[test]
    fn protocol_version_is_pinned() {
        // A change to the wire format must bump this deliberately, with a migration.
        assert_eq!(super::PROTOCOL_VERSION, 1);
    }
}
