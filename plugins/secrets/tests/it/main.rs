//! `kubectl mlflow secrets`' integration tests, one module each (one test binary for the crate).
//! `kwok_cluster` needs the test cluster: ignored by plain `cargo test`, selected by scripts/test
//! with `-- --ignored kwok_cluster::`.

mod cli;
mod kwok_cluster;
mod oidc_cli;
