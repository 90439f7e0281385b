//! Single sign-on (`oidc.*`) against real things; the tests are in `tests/it/`:
//! - `kwok_cluster` (the KWOK cluster, `scripts/test-cluster up`): the install's preflight refuses
//!   the sign-in's missing Secrets before anything is written; `kubectl mlflow secrets oidc`
//!   writes, keeps and refuses; the API server accepts the rendered sidecar, by either engine.
//! - `real_node` (the real node, `scripts/test-cluster up --real`): the test provider
//!   (`provider/`, oauth2-proxy's mockoidc behind a login page, image
//!   `kmlf.local/oidc-provider:mockoidc`, and oauth2-proxy itself, both by `scripts/node-images`),
//!   Debian's headless Chromium signing in through `kubectl mlflow portforward` (`browser.mjs`),
//!   and the MLflow client with the provider's tokens.
//!
//! Run them with `cargo test -p kubectl-mlflow-sso-tests --test it -- --ignored kwok_cluster::`
//! (or `real_node::`, one at a time) once that cluster is up.
