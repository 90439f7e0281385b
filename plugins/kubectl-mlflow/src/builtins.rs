//! What the dispatcher answers itself: the command list (help), `version`, `completion`, and
//! unknown commands.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Arg, Command};
use kubectl_mlflow_core::engine::chart;
use kubectl_mlflow_core::ui::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};

use crate::host::Host;
use crate::plugins::PLUGINS;

/// Our own commands (clap adds `help`).
pub const NAMES: &[&str] = &["version", "completion", "help"];

const SHELLS: [&str; 3] = ["bash", "zsh", "fish"];

/// The whole command line: every plugin's, and ours.
pub fn command(host: &Host) -> Command {
    let prog = &host.prog;
    let plugins = PLUGINS.iter().map(|plugin| {
        let command = (plugin.command)().name(plugin.name).bin_name(format!("{prog} {}", plugin.name));
        let summary = command.get_about().map(|about| summary(&about.to_string())).unwrap_or_default();
        command.about(summary)
    });
    Command::new("kubectl-mlflow")
        .bin_name(prog)
        .version(env!("CARGO_PKG_VERSION"))
        .about("Install and operate an MLflow tracking server on Kubernetes")
        .subcommand_value_name("COMMAND")
        .subcommand_help_heading("Commands")
        .subcommands(plugins)
        .subcommand(Command::new("version").about("Print the versions of kubectl-mlflow, of its chart and of MLflow"))
        .subcommand(
            Command::new("completion")
                .about("Print a shell completion script for kubectl-mlflow (bash, zsh or fish)")
                .arg(Arg::new("shell").required(true).value_parser(SHELLS).value_name("SHELL"))
                .after_help(format!(
                    "Examples:\n  source <(kubectl-mlflow completion bash)\n  kubectl-mlflow completion fish > ~/.config/fish/completions/kubectl-mlflow.fish\n\n\
                     For \"{prog} <TAB>\" put the kubectl_complete-mlflow script of the release archive on PATH\n\
                     (kubectl 1.26 and later call it)."
                )),
        )
        .after_help(format!("Run \"{prog} <COMMAND> --help\" for a command's flags."))
}

/// A plugin's about as one line of the command list: a long one up to its first colon.
fn summary(about: &str) -> String {
    match about.split_once(": ") {
        Some((head, _)) if about.len() > 60 => head.to_string(),
        _ => about.to_string(),
    }
}

/// Help, `version` and `completion`.
pub fn run(host: &Host, args: Vec<OsString>) -> ExitCode {
    let mut command = command(host);
    let matches = match command.try_get_matches_from_mut(std::iter::once(OsString::from(&host.prog)).chain(args)) {
        Ok(matches) => matches,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    match matches.subcommand() {
        Some(("version", _)) => print(&version()),
        Some(("completion", args)) => completion(args.get_one::<String>("shell").expect("required")),
        _ => print(&command.render_help().to_string()),
    }
}

fn version() -> String {
    let chart = chart::metadata();
    format!(
        "kubectl-mlflow {}\nchart {} {}\nMLflow {}\n",
        env!("CARGO_PKG_VERSION"),
        chart.name,
        chart.version,
        chart.app_version
    )
}

/// A completion script for the `kubectl-mlflow` binary (the name a shell can bind completion to).
fn completion(shell: &str) -> ExitCode {
    let shell = match shell {
        "bash" => clap_complete::Shell::Bash,
        "zsh" => clap_complete::Shell::Zsh,
        _ => clap_complete::Shell::Fish,
    };
    let host = Host { prog: "kubectl-mlflow".into(), helm: None };
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut command(&host), "kubectl-mlflow", &mut buffer);
    print(&String::from_utf8_lossy(&buffer))
}

/// An unknown command: say which ones exist, and the one that was probably meant.
pub fn unknown(host: &Host, name: &str) -> ExitCode {
    let known: Vec<&str> = PLUGINS.iter().map(|plugin| plugin.name).chain(NAMES.iter().copied()).collect();
    let prog = &host.prog;
    let mut message = format!("error: unknown command \"{name}\" for \"{prog}\"");
    if let Some(nearest) = nearest(name, &known) {
        message.push_str(&format!(" (did you mean \"{nearest}\"?)"));
    }
    eprintln!("{message}\nCommands: {}\nRun \"{prog} --help\" for what each does.", known.join(", "));
    ExitCode::from(EXIT_USAGE)
}

/// The known name a typo most likely meant: one that starts with it, else the closest by edit
/// distance if close enough to be a typo.
fn nearest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    if let Some(prefixed) = known.iter().find(|k| name.len() >= 2 && k.starts_with(name)) {
        return Some(prefixed);
    }
    known
        .iter()
        .map(|k| (strsim::normalized_damerau_levenshtein(name, k), *k))
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

fn print(text: &str) -> ExitCode {
    match std::io::stdout().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(EXIT_FAILED),
    }
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn typos_and_prefixes_find_the_command() {
        let known = ["install", "gc", "uninstall", "portforward", "version", "completion", "help"];
        assert_eq!(nearest("instal", &known), Some("install"));
        assert_eq!(nearest("isntall", &known), Some("install"));
        assert_eq!(nearest("port", &known), Some("portforward"));
        assert_eq!(nearest("uninstal", &known), Some("uninstall"));
        assert_eq!(nearest("cg", &known), Some("gc"));
        assert_eq!(nearest("zzzzzz", &known), None);
    }
}
