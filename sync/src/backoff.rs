//! Reconnect delays: exponential back-off with jitter, deterministic from a seed (so that a
//! simulation replays), reset after a successful session.

/// Delays `base_ms · 2^attempt`, capped at `max_ms`, each drawn uniformly from its upper half so
/// that townships cut off together do not reconnect in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    base_ms: u64,
    max_ms: u64,
    attempt: u32,
    state: u64,
}

impl Backoff {
    pub fn new(base_ms: u64, max_ms: u64, seed: u64) -> Backoff {
        Backoff { base_ms: base_ms.max(1), max_ms: max_ms.max(base_ms.max(1)), attempt: 0, state: seed }
    }

    /// The delay before the next attempt.
    pub fn next_delay_ms(&mut self) -> u64 {
        let ceiling = self.base_ms.saturating_mul(1u64 << self.attempt.min(30)).min(self.max_ms);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        half + splitmix64(&mut self.state) % (ceiling - half + 1)
    }

    /// After a session that got through its hello.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_with_jitter_and_reset() {
        let mut b = Backoff::new(100, 10_000, 7);
        let d: Vec<u64> = (0..10).map(|_| b.next_delay_ms()).collect();
        for (i, d) in d.iter().enumerate() {
            let ceiling = (100u64 << i).min(10_000);
            assert!(*d >= ceiling / 2 && *d <= ceiling, "attempt {i}: {d}");
        }
        assert!(d[9] >= 5_000);
        b.reset();
        assert!(b.next_delay_ms() <= 100);
        let mut again = Backoff::new(100, 10_000, 7);
        assert_eq!((0..10).map(|_| again.next_delay_ms()).collect::<Vec<_>>(), d, "same seed, same delays");
    }
}
