//! `kubectl mlflow portforward`'s integration tests, one module each (one test binary for the
//! crate). `kwok_cluster` needs the test cluster, `real_node` its real node: both are ignored by
//! plain `cargo test`, and scripts/test selects them by module path (`-- --ignored real_node::`).

mod cli;
mod kwok_cluster;
mod real_node;
