//! Helpers shared by the host tests: a seeded random generator and the
//! operation count of the model ("property") tests.
//!
//! Every allocator's model test runs `soak_ops()` random operations: a modest
//! number under `make test`, `CAIRN_SOAK_OPS` (1,000,000 from `make soak`) when set.

/// Operations a model test runs: `CAIRN_SOAK_OPS` if set, else `default`.
pub fn soak_ops(default: usize) -> usize {
    std::env::var("CAIRN_SOAK_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Xorshift64*: small, fast, deterministic for a given seed.
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed` (zero is replaced by a fixed constant).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo) as u64) as usize
    }
    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next_u64() % den < num
    }
}
