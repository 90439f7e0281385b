//! The ui layer: what every binary shares on its command line and terminal — the flags
//! ([`args`]), the [`Reporter`] of notes and errors, live [`progress`], output formats
//! ([`output`]), passwords masked in what is shown ([`mask`]), duration flags ([`parse_duration`]) and the edge ([`main`]) that turns the one
//! [`Failure`] into exit codes (2 input, 1 failed).

pub mod args;
pub mod mask;
pub mod output;
pub mod progress;
mod reporter;
mod run;

pub use args::{ClusterArgs, OutputArgs, ValuesArgs};
pub use kubectl_mlflow_model::duration::{format_duration, parse_duration};
pub use kubectl_mlflow_model::failure::{EXIT_FAILED, EXIT_USAGE};
pub use kubectl_mlflow_model::Failure;
pub use progress::Progress;
pub use reporter::Reporter;
pub use run::{block_on, main, parse, Command, EXIT_OK};
