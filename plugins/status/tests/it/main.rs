//! The tests of `kubectl mlflow status`, one binary: `cli` needs nothing; `kwok_cluster` needs the
//! test cluster (`scripts/test-cluster up`) and `real_node` the real node (`scripts/test-cluster
//! up --real`): both are ignored by plain `cargo test`, run with `--ignored kwok_cluster::` and
//! `--ignored real_node::`.

mod cli;
mod helpers;
mod kwok_cluster;
mod real_node;
