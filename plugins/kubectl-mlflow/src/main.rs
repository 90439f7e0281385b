//! `kubectl mlflow`: every kubectl-mlflow plugin in one binary. krew links one binary per plugin,
//! so `kubectl mlflow install` reaches `kubectl-mlflow install`, which runs the install plugin's
//! code in this process; the helm plugin `mlflow` runs the same binary.

mod builtins;
mod complete;
mod host;
mod plugins;

use std::ffi::OsString;
use std::process::ExitCode;

use host::Host;

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let host = Host::detect(&argv0, |name| std::env::var_os(name));
    dispatch(&host, args.collect())
}

/// Routes on the first argument: a plugin's name runs that plugin, the rest is ours.
fn dispatch(host: &Host, args: Vec<OsString>) -> ExitCode {
    let first = args.first().map(|arg| arg.to_string_lossy().into_owned());
    match first.as_deref() {
        Some(name) if plugins::find(name).is_some() => {
            let plugin = plugins::find(name).expect("checked above");
            plugins::run(host, plugin, args.into_iter().skip(1))
        }
        Some(complete::COMMAND) => complete::run(builtins::command(host), &args[1..]),
        Some(name) if !name.starts_with('-') && !builtins::NAMES.contains(&name) => builtins::unknown(host, name),
        _ => builtins::run(host, args),
    }
}
