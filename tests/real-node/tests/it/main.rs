//! MLflow on the real node (one test binary for the crate), ignored by plain `cargo test`:
//! `production` (the production example on PostgreSQL and S3) and `real_node` (the quick start,
//! GC, auth, TLS, metrics, drivers, fail-fast), selected by module path
//! (`-- --ignored --test-threads=1 production::`).

mod official_options;
mod production;
mod real_node;
