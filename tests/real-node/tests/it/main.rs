//! MLflow on the real node (one test binary for the crate), ignored by plain `cargo test`:
//! `production` (the production example on PostgreSQL and S3), `waits_and_limits` (a late
//! database, basic auth on PostgreSQL with its URI from a Secret, a sized /tmp) and `autoscaling`
//! (metrics-server, load, scale out and back), run by scripts/test's first chain (the last two
//! drawn, one per run); `real_node` (the quick start, GC, auth, TLS, metrics, drivers, fail-fast)
//! and `official_options`, by its second; selected by module path
//! (`-- --ignored --test-threads=1 production::`).

mod autoscaling;
mod metrics_api;
mod official_options;
mod production;
mod real_node;
mod waits_and_limits;
