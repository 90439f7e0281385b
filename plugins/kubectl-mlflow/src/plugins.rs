//! The subcommands: the plugin crates linked into this binary. Adding one is a line here and one
//! in Cargo.toml.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Command, CommandFactory};
use kubectl_mlflow_core::ui;

use crate::host::Host;

pub struct Plugin {
    pub name: &'static str,
    /// Its command line, for the help listing and completions.
    pub command: fn() -> Command,
    /// The plugin's whole main: parses the arguments (the first is the program name, as the user
    /// typed it), runs it, exits 0, 1 or 2.
    run: fn(Vec<OsString>) -> ExitCode,
    /// What it is told of the helm that runs it, when it runs under helm.
    under_helm: UnderHelm,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum UnderHelm {
    /// Nothing: it does not use helm.
    Nothing,
    /// `--helm --helm-binary $HELM_BIN`: helm's engine, the calling helm.
    Engine,
    /// `--helm-binary $HELM_BIN`: the calling helm for the helm releases it meets.
    Binary,
}

impl Plugin {
    const fn helm_engine(self) -> Plugin {
        Plugin { under_helm: UnderHelm::Engine, ..self }
    }

    const fn helm_binary(self) -> Plugin {
        Plugin { under_helm: UnderHelm::Binary, ..self }
    }
}

macro_rules! plugin {
    ($name:literal, $krate:ident) => {
        Plugin {
            name: $name,
            command: <$krate::Cli as CommandFactory>::command,
            run: |args| ui::main(args, $krate::run),
            under_helm: UnderHelm::Nothing,
        }
    };
}

pub const PLUGINS: &[Plugin] = &[
    plugin!("install", kubectl_mlflow_install).helm_engine(),
    plugin!("gc", kubectl_mlflow_gc),
    plugin!("portforward", kubectl_mlflow_portforward),
    plugin!("secrets", kubectl_mlflow_secrets),
    plugin!("uninstall", kubectl_mlflow_uninstall).helm_binary(),
    plugin!("status", kubectl_mlflow_status),
    plugin!("check", kubectl_mlflow_check),
];

/// Other spellings users type, as kubectl's own `port-forward`.
const ALIASES: &[(&str, &str)] = &[("port-forward", "portforward")];

pub fn find(name: &str) -> Option<&'static Plugin> {
    let name = ALIASES.iter().find(|(alias, _)| *alias == name).map_or(name, |(_, target)| target);
    PLUGINS.iter().find(|plugin| plugin.name == name)
}

/// Runs the plugin in this process; its exit code is ours.
pub fn run(host: &Host, plugin: &Plugin, args: impl Iterator<Item = OsString>) -> ExitCode {
    let mut argv = vec![OsString::from(format!("{} {}", host.prog, plugin.name))];
    if let Some(helm) = &host.helm {
        // before the user's arguments, so a --helm-binary of theirs wins
        match plugin.under_helm {
            UnderHelm::Engine => argv.extend(["--helm".into(), "--helm-binary".into(), helm.clone()]),
            UnderHelm::Binary => argv.extend(["--helm-binary".into(), helm.clone()]),
            UnderHelm::Nothing => {}
        }
    }
    argv.extend(args);
    (plugin.run)(argv)
}
