//! `kubectl-mlflow`'s integration tests (one test binary for the crate).

mod dispatch;
