//! The core of kubectl-mlflow, in layers; each uses only the ones below it (arrows point down only):
//!
//! - [`ui`]: shared flags, [`ui::Reporter`], progress bars, output formats, the binaries' edge
//!   ([`ui::main`]: parse, run, print the one [`Failure`], exit 0/1/2).
//! - [`engine`]: preflight, server-side apply + ApplySet (and its prune), watched wait, helm. Takes
//!   plain settings, reports through [`engine::Sink`]; knows no clap and no terminal.
//! - [`cluster`]: the kubeconfig resolved once into a [`cluster::Session`] (client, namespace,
//!   context), finding a release by labels, kube errors turned into advice.
//! - model ([`kubectl_mlflow_model`], re-exported here): values, validation, the release
//!   [`identity`], the native renderer, [`Failure`]. No kube client, no tokio, no terminal.
//!
//! A plugin crate is a clap `Cli` struct plus `async fn run(Cli) -> Result<(), Failure>`, and a
//! `main` that is `ui::main(std::env::args_os(), run)` (a multicall binary calls the same).

pub mod cluster;
pub mod engine;
pub mod random;
pub mod ui;

pub use kubectl_mlflow_model::{
    failure, identity, local_paths, names, oidc, problem, release, render, store_uri, stores, validate, values, yaml,
};
pub use kubectl_mlflow_model::{
    Failure, Identity, Object, Problem, Problems, Release, Rendered, Source, Valid, Values,
};
pub use ui::{args as cli, output};
