//! The chart's tests with real helm, one module each (one test binary for the crate).
//! `oldest_helm` needs helm 3.8.2 (scripts/helm-oldest): ignored by plain `cargo test`, selected by
//! scripts/test with `-- --ignored oldest_helm::`.

mod artifacthub;
mod chart;
mod official_ci;
mod official_keys;
mod oidc_refusals;
mod oldest_helm;
mod refusals;
