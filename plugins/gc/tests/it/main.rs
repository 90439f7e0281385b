//! `kubectl mlflow gc`'s integration tests, one module each (one test binary for the crate).
//! `kwok_cluster` needs the test cluster, `real_node` its real node: both are ignored by plain
//! `cargo test`, and scripts/test selects them by module path (`-- --ignored kwok_cluster::`).

mod cli;
mod durations;
mod kwok_cluster;
mod real_node;
mod tmp_store;
