//! Completion for kubectl's plugin completion (kubectl 1.26 and later): for `kubectl mlflow
//! <TAB>` kubectl runs `kubectl_complete-mlflow <args…> <word>`, a script that runs
//! `kubectl-mlflow __complete <args…> <word>`. The answer is cobra's: one candidate a line
//! (`value<TAB>description`), then `:<directive>`.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Arg, Command};

/// The hidden command (cobra's name for it, which kubectl plugins use too).
pub const COMMAND: &str = "__complete";

/// cobra's ShellCompDirectiveDefault: the shell may complete file names.
const FILES: u8 = 0;
/// cobra's ShellCompDirectiveNoFileComp.
const NO_FILES: u8 = 4;

pub fn run(command: Command, args: &[OsString]) -> ExitCode {
    let words: Vec<String> = args.iter().map(|arg| arg.to_string_lossy().into_owned()).collect();
    let (word, before) = words.split_last().map_or(("", &[][..]), |(word, before)| (word.as_str(), before));
    let (candidates, directive) = candidates(command, before, word);
    let mut out = String::new();
    for (value, help) in candidates {
        out.push_str(&if help.is_empty() { value } else { format!("{value}\t{help}") });
        out.push('\n');
    }
    out.push_str(&format!(":{directive}\n"));
    match std::io::stdout().write_all(out.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

type Candidates = (Vec<(String, String)>, u8);

/// What may come at `word`, given the words before it.
pub fn candidates(mut top: Command, before: &[String], word: &str) -> Candidates {
    top.build();
    let mut command = &top;
    let mut value_of: Option<&Arg> = None;
    let mut positionals = 0;
    for arg in before {
        if value_of.take().is_some() {
            continue;
        }
        if let Some(option) = option(command, arg).filter(|option| takes_separate_value(option)) {
            value_of = Some(option);
        } else if arg.starts_with('-') {
            continue;
        } else if let Some(sub) = command.find_subcommand(arg).filter(|_| positionals == 0) {
            command = sub;
        } else {
            positionals += 1;
        }
    }
    if let Some(option) = value_of {
        return values(option, word, "", FILES);
    }
    if let Some((flag, value)) = word.split_once('=').filter(|(flag, _)| flag.starts_with("--")) {
        return match option(command, flag) {
            Some(option) => values(option, value, &format!("{flag}="), FILES),
            None => (vec![], NO_FILES),
        };
    }
    if word.starts_with('-') {
        return (flags(command, word), NO_FILES);
    }
    if command.has_subcommands() && positionals == 0 {
        let subs = command.get_subcommands().filter(|sub| !sub.is_hide_set() && sub.get_name().starts_with(word));
        return (subs.map(|sub| (sub.get_name().to_string(), about(sub.get_about()))).collect(), NO_FILES);
    }
    match command.get_positionals().nth(positionals) {
        Some(positional) => values(positional, word, "", NO_FILES),
        None => (vec![], NO_FILES),
    }
}

/// The option a word names: `--namespace`, `-n`.
fn option<'a>(command: &'a Command, word: &str) -> Option<&'a Arg> {
    let mut arguments = command.get_arguments();
    if let Some(long) = word.strip_prefix("--") {
        arguments.find(|arg| arg.get_long() == Some(long))
    } else if let Some(short) = word.strip_prefix('-').filter(|short| short.chars().count() == 1) {
        arguments.find(|arg| arg.get_short().map(String::from).as_deref() == Some(short))
    } else {
        None
    }
}

fn takes_separate_value(option: &Arg) -> bool {
    option.get_action().takes_values() && !option.is_require_equals_set()
}

/// An argument's possible values; when it has none, `otherwise` (file names for an option's value,
/// nothing for a name).
fn values(arg: &Arg, word: &str, prefix: &str, otherwise: u8) -> Candidates {
    let possible = arg.get_possible_values();
    if possible.is_empty() {
        return (vec![], otherwise);
    }
    let matching = possible.iter().filter(|value| !value.is_hide_set() && value.get_name().starts_with(word));
    (matching.map(|value| (format!("{prefix}{}", value.get_name()), about(value.get_help()))).collect(), NO_FILES)
}

fn flags(command: &Command, word: &str) -> Vec<(String, String)> {
    let visible = command.get_arguments().filter(|arg| !arg.is_positional() && !arg.is_hide_set());
    let mut flags = Vec::new();
    for arg in visible {
        let help = about(arg.get_help());
        if let Some(long) = arg.get_long() {
            flags.push((format!("--{long}"), help.clone()));
        }
        if let Some(short) = arg.get_short().filter(|_| word == "-") {
            flags.push((format!("-{short}"), help));
        }
    }
    flags.retain(|(flag, _)| flag.starts_with(word));
    flags
}

/// The first sentence of a help text, as short as cobra's descriptions.
fn about(help: Option<&clap::builder::StyledStr>) -> String {
    let text = help.map(|help| help.to_string()).unwrap_or_default();
    let line = text.lines().next().unwrap_or_default();
    line.split_once(". ").map_or(line, |(sentence, _)| sentence).trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtins::command;
    use crate::host::Host;

    fn complete(line: &[&str]) -> Candidates {
        let (word, before) = line.split_last().unwrap();
        let before: Vec<String> = before.iter().map(|s| s.to_string()).collect();
        candidates(command(&Host { prog: "kubectl mlflow".into(), helm: None }), &before, word)
    }

    fn names(candidates: Candidates) -> (Vec<String>, u8) {
        (candidates.0.into_iter().map(|(value, _)| value).collect(), candidates.1)
    }

    #[test]
    fn commands_then_their_flags_then_flag_values() {
        let (subs, directive) = names(complete(&[""]));
        assert!(subs.contains(&"install".to_string()) && subs.contains(&"gc".to_string()), "{subs:?}");
        assert!(subs.contains(&"completion".to_string()) && directive == NO_FILES);
        assert_eq!(names(complete(&["ins"])), (vec!["install".to_string()], NO_FILES));
        assert_eq!(names(complete(&["install", "--dry"])), (vec!["--dry-run".to_string()], NO_FILES));
        assert_eq!(names(complete(&["install", "-n", "ns", "-o", "j"])), (vec!["json".to_string()], NO_FILES));
        assert_eq!(names(complete(&["install", "--dry-run=s"])), (vec!["--dry-run=server".to_string()], NO_FILES));
        assert_eq!(names(complete(&["completion", ""])).0, ["bash", "zsh", "fish"]);
    }

    #[test]
    fn files_where_a_file_is_wanted() {
        assert_eq!(complete(&["install", "-f", ""]), (vec![], FILES));
        // the release name is free text: nothing to offer
        assert_eq!(complete(&["gc", ""]), (vec![], NO_FILES));
    }
}
