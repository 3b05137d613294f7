//! # yikou-sync: the replication protocol core
//!
//! Peer sessions as state machines without I/O (in the manner of quinn-proto): fed with messages
//! and the current time, they emit messages, timers and storage requests as data. The thin quinn
//! driver lives in `yikou-node`.
//!
//! Architecture invariant: this crate knows nothing of cases. It replicates scoped Automerge
//! documents under a policy it is given.
//!
//! Status: the protocol lands with the replication issue; today this crate only fixes the wire
//! format's version constant so that the boundary has a name from the start.

/// The sync wire format's version. Bumped only with a migration (see ARCHITECTURE.md).
pub const PROTOCOL_VERSION: u16 = 1;

#[cfg(test)]
mod tests {
    #[test]
    fn protocol_version_is_pinned() {
        // A change to the wire format must bump this deliberately, with a migration.
        assert_eq!(super::PROTOCOL_VERSION, 1);
    }
}
