//! The tests are in `tests/real_node.rs`: MLflow's real image on the real node of
//! `scripts/test-cluster up --real`. Run them with
//! `cargo test -p kubectl-mlflow-real-node-tests -- --ignored` once that cluster is up and
//! `cargo build -p kubectl-mlflow-install` has built the plugin.
