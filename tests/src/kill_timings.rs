//! When kill tests kill: pseudo-random delays from a seed, printed at the start (so a
//! failing test shows it beside its failure) and taken from `TEST_SEED` when set, so a
//! failure's kill timings can be replayed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The delays of one test.
#[derive(Debug)]
pub struct KillTimings {
    rng: StdRng,
}

impl KillTimings {
    /// Timings from `TEST_SEED` if set, else from a fresh seed; either is printed with
    /// `test`'s name.
    ///
    /// # Panics
    /// When `TEST_SEED` is set but is not a number.
    pub fn for_test(test: &str) -> Self {
        let seed = std::env::var("TEST_SEED").map_or_else(
            |_| rand::random::<u64>(),
            |s| s.parse().expect("TEST_SEED is a number"),
        );
        eprintln!("{test}: kill timings from seed {seed} (TEST_SEED={seed} replays them)");
        Self {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// A delay in `min_ms..max_ms`, ms.
    pub fn ms(&mut self, min_ms: u64, max_ms: u64) -> u64 {
        self.rng.random_range(min_ms..max_ms.max(min_ms + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_gives_one_sequence_within_the_bounds() {
        let sequence = |seed| {
            let mut t = KillTimings {
                rng: StdRng::seed_from_u64(seed),
            };
            (0..20).map(|_| t.ms(100, 400)).collect::<Vec<_>>()
        };
        assert_eq!(sequence(7), sequence(7));
        assert_ne!(sequence(7), sequence(8));
        assert!(sequence(7).iter().all(|ms| (100..400).contains(ms)));
    }
}
