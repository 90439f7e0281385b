//! The seeded random generator of the randomized tests. A run is reproducible by default, so a CI run never
//! turns red on a draw: the seed is fixed unless the environment says otherwise.
//!
//! - unset: the test's fixed seed (the same cases on every run and machine);
//! - a number: that seed (replays a run, whose seed is printed);
//! - `random`: a new seed from the clock, to look for cases nobody has drawn yet.

use std::time::{SystemTime, UNIX_EPOCH};

/// splitmix64: small enough to own (no crate for a dozen lines).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Up to `max` characters drawn from `alphabet`.
    pub fn text(&mut self, alphabet: &[char], max: usize) -> String {
        (0..self.below(max + 1)).map(|_| alphabet[self.below(alphabet.len())]).collect()
    }
}

/// The seed a randomized test runs with, chosen by the variable `var` (see the module's text),
/// printed with how to replay it. An unreadable value fails the test rather than run another seed.
pub fn seed(test: &str, var: &str, fixed: u64) -> u64 {
    let seed = match std::env::var(var).ok().as_deref() {
        None | Some("") => fixed,
        Some("random") => SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64,
        Some(given) => given.parse().unwrap_or_else(|_| panic!("{var}={given}: expected a number or \"random\"")),
    };
    eprintln!("{test}: seed {seed} (replay with {var}={seed}; {var}=random draws a new one)");
    seed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_numbers() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!((0..5).map(|_| a.next_u64()).collect::<Vec<_>>(), (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert!((0..1000).all(|_| a.below(3) < 3));
    }
}
