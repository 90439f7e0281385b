//! MLflow on the real node of `scripts/test-cluster up --real`. The tests are in `tests/it/`:
//! `real_node.rs` (the quick start, GC, auth, metrics, fail-fast) and `production.rs` (the
//! production path of MLflow's Kubernetes deployment guide: PostgreSQL and S3 in the cluster). Run them with
//! `cargo test -p kubectl-mlflow-real-node-tests -- --ignored --test-threads=1` once that
//! cluster is up and `cargo build -p kubectl-mlflow-install -p kubectl-mlflow-uninstall
//! -p kubectl-mlflow-gc -p kubectl-mlflow-secrets` has built the plugins. What they share is in the
//! test-support crate (`tests/support`).
