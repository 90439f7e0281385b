//! `kubectl mlflow install`'s integration tests, one module each (one test binary for the crate).
//! The modules that need the test cluster (`kwok_cluster`, `openshift`, `property`, `reuse_values`)
//! or the OCI registry's Go build (`oci`) are ignored by plain `cargo test`; scripts/test selects
//! each by its module path (`cargo test --workspace --test it -- --ignored kwok_cluster::`).

mod chart_parity;
mod cli;
mod durations;
mod ephemeral_warnings;
mod generative_parity;
mod kwok_cluster;
mod mutants;
mod oci;
mod openshift;
mod property;
mod refusals;
mod renderings;
mod reuse_values;
