//! Replays a fuzz target's committed inputs as a stable test: every file of
//! `fuzz/seeds/<target>/` (the seed corpus) and `fuzz/regressions/<target>/` (every crasher ever
//! found, named after its bug), plus deterministic mutations of the seeds. Used by the
//! `*/tests/fuzz_regressions.rs` tests; seeds are (re)written by their ignored `write_fuzz_seeds`.

use std::path::{Path, PathBuf};

/// Mutations of each seed replayed in CI (bit flips, truncations, splices).
pub const MUTATIONS_PER_SEED: usize = 24;

/// `fuzz/` of this repository, from a crate directory of the main workspace.
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    out.retain(|p| p.file_name().is_some_and(|n| !n.to_string_lossy().starts_with('.')));
    out.sort();
    out
}

fn run_one(what: &str, bytes: &[u8], target: fn(&[u8])) {
    if std::panic::catch_unwind(|| target(bytes)).is_ok() {
        return;
    }
    // Keep the failing input: a mutation exists only in this run's memory.
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failure.bin");
    let saved = std::fs::write(&kept, bytes).is_ok();
    panic!(
        "{what} ({} bytes) panics; {}",
        bytes.len(),
        if saved { format!("input kept in {}", kept.display()) } else { "input not kept".into() }
    );
}

/// Replays every seed and regression of `target` and `MUTATIONS_PER_SEED` mutations of each seed
/// (`mutations: false` skips those, for slow targets). Returns (seeds, regressions) replayed.
pub fn replay(target: &str, run: fn(&[u8]), mutations: bool) -> (usize, usize) {
    let seeds = files(&fuzz_dir().join("seeds").join(target));
    let regressions = files(&fuzz_dir().join("regressions").join(target));
    for path in seeds.iter().chain(&regressions) {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        run_one(&path.display().to_string(), &bytes, run);
        if mutations && seeds.contains(path) {
            let mut rng = Rng(blake3_free_seed(&bytes));
            for i in 0..MUTATIONS_PER_SEED {
                let mutated = mutate(&bytes, &mut rng);
                run_one(&format!("{} mutation {i}", path.display()), &mutated, run);
            }
        }
    }
    (seeds.len(), regressions.len())
}

/// Writes one seed file (for the ignored seed writers).
pub fn write_seed(target: &str, name: &str, bytes: &[u8]) {
    let dir = fuzz_dir().join("seeds").join(target);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    std::fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
}

fn blake3_free_seed(bytes: &[u8]) -> u64 {
    // FNV-1a: a stable seed per file without a hashing dependency.
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)) | 1
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(5) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = rng.next() as u8;
            }
            2 => out.truncate(rng.below(out.len() + 1)),
            3 if !out.is_empty() => {
                let from = rng.below(out.len());
                let len = rng.below(16).min(out.len() - from);
                let piece = out[from..from + len].to_vec();
                let at = rng.below(out.len() + 1);
                out.splice(at..at, piece);
            }
            _ => {
                let i = rng.below(out.len() + 1);
                out.insert(i, rng.next() as u8);
            }
        }
    }
    out
}
