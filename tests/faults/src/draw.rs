//! The suite's seed and sample. One seed draws every kill point and timing of a run:
//! - `KMLF_FAULT_SEED`: unset, the suite's fixed seed; a number, that seed (a failure prints
//!   its seed: this replays it); `random`, a new one from the clock. CI passes the date, so each
//!   day's runs draw other points.
//! - `KMLF_FAULT_SAMPLE`: how many of a case's points run (default 2, CI's sample); `all` runs
//!   every one (the full sweep).

use kubectl_mlflow_test_support::random::{seed, Rng};

/// The seed when none is given: this number.
const FIXED: u64 = 30;

/// A case's draws, from the run's seed and the case's name (so cases draw apart).
pub struct Draw {
    pub seed: u64,
    rng: Rng,
}

impl Draw {
    pub fn new(case: &str) -> Draw {
        let seed = seed(case, "KMLF_FAULT_SEED", FIXED);
        let salt = case.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
        Draw { seed, rng: Rng::new(seed ^ salt) }
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.below(n)
    }

    /// The points of `all` this run takes: every one under `KMLF_FAULT_SAMPLE=all`, else a
    /// drawn sample of that many (default 2), in their own order.
    pub fn sample<T: Clone>(&mut self, all: &[T]) -> Vec<T> {
        let want = match std::env::var("KMLF_FAULT_SAMPLE").ok().as_deref() {
            Some("all") => return all.to_vec(),
            None | Some("") => 2,
            Some(n) => n.parse().unwrap_or_else(|_| panic!("KMLF_FAULT_SAMPLE={n}: expected a number or \"all\"")),
        };
        let mut indices: Vec<usize> = (0..all.len()).collect();
        for i in (1..indices.len()).rev() {
            indices.swap(i, self.rng.below(i + 1));
        }
        let mut chosen: Vec<usize> = indices.into_iter().take(want).collect();
        chosen.sort_unstable();
        chosen.into_iter().map(|i| all[i].clone()).collect()
    }

    /// What a failure says so that it replays.
    pub fn replay(&self) -> String {
        format!("replay with KMLF_FAULT_SEED={} (and the same KMLF_FAULT_SAMPLE)", self.seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_a_sorted_subset_and_all_is_everything() {
        let mut d = Draw { seed: 1, rng: Rng::new(1) };
        let all: Vec<u32> = (0..10).collect();
        let some = d.sample(&all);
        assert!(some.len() <= 2 && some.windows(2).all(|w| w[0] < w[1]));
    }
}
