//! The binaries' edge: parse the command line, run the plugin on a small runtime, print the one
//! failure, exit 0, 1 or 2.

use std::future::Future;
use std::process::ExitCode;

use kubectl_mlflow_model::failure::EXIT_USAGE;
use kubectl_mlflow_model::Failure;

use super::args::OutputArgs;
use super::reporter::Reporter;

/// 0: success.
pub const EXIT_OK: u8 = 0;

/// What a plugin's `Cli` tells the edge: how to show its errors.
pub trait Command: clap::Parser {
    fn output(&self) -> &OutputArgs;

    /// Worker threads of the runtime. 0: the command runs on the calling thread alone, which
    /// starts faster and suits a handful of API calls; a command that serves many connections at
    /// once (a port-forward) asks for workers.
    const WORKER_THREADS: usize = 0;
}

/// A plugin binary's whole `main`: parses `args` (the first is the program name), runs `run`,
/// prints its failure once, exits 0, 1 or 2.
/// The multicall `kubectl-mlflow` calls it with the subcommand's arguments.
pub fn main<C, F>(args: impl IntoIterator<Item = std::ffi::OsString>, run: impl FnOnce(C) -> F) -> ExitCode
where
    C: Command,
    F: Future<Output = Result<(), Failure>>,
{
    let cli: C = match parse(args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let reporter = Reporter::new(cli.output());
    // on the heap: a plugin's future is large, and on the stack each move of it touches new pages
    match run_on(C::WORKER_THREADS, Box::pin(run(cli))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => reporter.failure(&failure),
    }
}

/// Parses a plugin's arguments; on a usage error (or `--help`/`--version`) prints clap's text and
/// returns the exit code to end with. A first argument with a space is the name the multicall
/// `kubectl-mlflow` was called by (`helm mlflow install`): usage and errors say it.
pub fn parse<C: clap::Parser, I, T>(args: I) -> Result<C, ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let mut command = C::command();
    if let Some(name) = args.first().and_then(|arg| arg.to_str()).filter(|name| name.contains(' ')) {
        command = command.bin_name(name.to_string());
    }
    let parsed = command
        .try_get_matches_from_mut(args)
        .and_then(|matches| C::from_arg_matches(&matches).map_err(|err| err.format(&mut command)));
    parsed.map_err(|err| {
        let _ = err.print();
        ExitCode::from(if err.use_stderr() { EXIT_USAGE } else { EXIT_OK })
    })
}

/// Runs a plugin's async body on a small runtime on the calling thread (the plugins make a
/// handful of API calls).
pub fn block_on<T>(body: impl Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
    run_on(0, body)
}

/// Runs `body` on a runtime with `workers` worker threads, or on the calling thread alone for 0.
fn run_on<T>(workers: usize, body: impl Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
    let mut builder = match workers {
        0 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
    };
    let runtime = builder.enable_all().build().map_err(|err| Failure::failed(format!("cannot start: {err}")))?;
    runtime.block_on(body)
}
