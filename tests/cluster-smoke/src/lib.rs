//! Smoke tests of the local test cluster live in `tests/`; they need a running cluster
//! (`scripts/test-cluster up`; the test-support crate starts it if it is not up).
//! Run them with `cargo test -p kubectl-mlflow-cluster-smoke`.
