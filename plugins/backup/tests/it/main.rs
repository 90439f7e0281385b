//! The integration tests of `kubectl mlflow backup` and `restore`, one binary: `cli` (no
//! cluster), `kwok_cluster` (refusals on the KWOK control plane: no bytes flow there) and
//! `real_node` (MLflow's real images on `scripts/test-cluster up --real`; ignored by plain
//! `cargo test`, run with `--ignored`).

mod archive;
mod cli;
mod kwok_cluster;
mod real_node;
