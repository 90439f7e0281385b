//! The test cluster's smoke tests (one test binary for the crate), ignored by plain `cargo test`:
//! `cargo test -p kubectl-mlflow-cluster-smoke -- --ignored smoke::`.

mod smoke;
