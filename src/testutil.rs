//! Helpers shared by the host tests: the seeded random generator
//! (`crate::rand::Rng`) and the operation count of the model ("property") tests.
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

pub use crate::rand::Rng;
