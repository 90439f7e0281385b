//! MLflow on the real node (one test binary for the crate), ignored by plain `cargo test`:
//! `production` (the production example on PostgreSQL and S3) and `real_node` (the quick start,
//! GC, auth, TLS, metrics, drivers, fail-fast), selected by module path; `waits_and_limits` (a late
//! database, the auth URI from a Secret, a small /tmp) is not in scripts/test's chains yet
//! (`-- --ignored --test-threads=1 production::`).

mod official_options;
mod production;
mod real_node;
mod waits_and_limits;
