//! The front desk's local records: queue tickets (W1.1), appointments with their quota share
//! (W1.2–W1.4), and the consultation ledger (W2).
