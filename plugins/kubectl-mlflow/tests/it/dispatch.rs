//! `kubectl mlflow <command>` as kubectl and helm run it: routing to the plugins in-process, the
//! command list, unknown commands, exit codes passed through, versions and completions.

use assert_cmd::Command;
use kubectl_mlflow_test_support::process::offline_plugin;

fn kubectl_mlflow() -> Command {
    offline_plugin("kubectl-mlflow")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command, args: &[&str]) -> Run {
    let out = cmd.args(args).output().unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    Run { code: out.status.code().unwrap(), stdout: text(out.stdout), stderr: text(out.stderr) }
}

#[test]
fn help_lists_the_commands_one_line_each() {
    let help = run(&mut kubectl_mlflow(), &["--help"]);
    assert_eq!(help.code, 0, "{}", help.stderr);
    insta::assert_snapshot!(help.stdout);
    let bare = run(&mut kubectl_mlflow(), &[]);
    assert_eq!((bare.code, bare.stdout), (0, help.stdout));
}

#[test]
fn a_command_runs_its_plugin_with_its_arguments() {
    let install = run(&mut kubectl_mlflow(), &["install", "team-a", "-n", "ml", "--dry-run"]);
    assert_eq!(install.code, 0, "{}", install.stderr);
    for text in ["kind: Deployment", "name: team-a-mlflow", "namespace: ml"] {
        assert!(install.stdout.contains(text), "no {text:?} in:\n{}", install.stdout);
    }
    let gc = run(&mut kubectl_mlflow(), &["gc", "--help"]);
    assert_eq!(gc.code, 0);
    assert!(gc.stdout.contains("Usage: kubectl mlflow gc") && gc.stdout.contains("--older-than"), "{}", gc.stdout);
}

#[test]
fn exit_codes_are_the_plugins() {
    let usage = run(&mut kubectl_mlflow(), &["gc", "--older-than", "soon"]);
    assert_eq!(usage.code, 2);
    assert!(usage.stderr.contains("--older-than soon") && usage.stdout.is_empty(), "{}", usage.stderr);
    let invalid = run(&mut kubectl_mlflow(), &["install", "--dry-run", "--set", "storage.sizee=1Gi"]);
    assert_eq!(invalid.code, 2);
    assert!(invalid.stderr.contains("storage.sizee"), "{}", invalid.stderr);
    // a cluster that does not answer: the operation fails
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, UNREACHABLE_KUBECONFIG).unwrap();
    let failed = run(kubectl_mlflow().env("KUBECONFIG", &kubeconfig), &["gc", "-n", "ml", "--timeout", "5s"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
}

/// A cluster on a loopback port nothing listens on.
const UNREACHABLE_KUBECONFIG: &str = "apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: ml}}]
current-context: c
";

#[test]
fn an_unknown_command_names_the_known_ones_and_the_nearest() {
    let typo = run(&mut kubectl_mlflow(), &["instal", "-n", "ml"]);
    assert_eq!(typo.code, 2);
    assert!(typo.stdout.is_empty());
    assert!(
        typo.stderr.contains(r#"unknown command "instal" for "kubectl mlflow" (did you mean "install"?)"#),
        "{}",
        typo.stderr
    );
    assert!(
        typo.stderr.contains(
            "Commands: install, gc, portforward, secrets, uninstall, status, check, version, completion, help"
        ),
        "{}",
        typo.stderr
    );
    let nothing_near = run(&mut kubectl_mlflow(), &["zzzz"]);
    assert_eq!(nothing_near.code, 2);
    assert!(
        !nothing_near.stderr.contains("did you mean") && nothing_near.stderr.contains("Commands:"),
        "{}",
        nothing_near.stderr
    );
    let flag = run(&mut kubectl_mlflow(), &["--no-such-flag"]);
    assert_eq!(flag.code, 2, "{}", flag.stderr);
}

#[test]
fn version_names_the_chart_and_mlflow() {
    let chart = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../charts/Chart.yaml")).unwrap();
    let field =
        |key: &str| chart.lines().find_map(|line| line.strip_prefix(key)).unwrap().trim().trim_matches('"').to_string();
    let version = run(&mut kubectl_mlflow(), &["version"]);
    assert_eq!(version.code, 0);
    let expected = format!(
        "kubectl-mlflow {}\nchart mlflow {}\nMLflow {}\n",
        env!("CARGO_PKG_VERSION"),
        field("version:"),
        field("appVersion:")
    );
    assert_eq!(version.stdout, expected);
}

#[test]
fn completion_scripts_cover_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&mut kubectl_mlflow(), &["completion", shell]);
        assert_eq!(script.code, 0, "{shell}: {}", script.stderr);
        for text in ["kubectl-mlflow", "install", "gc", "dry-run", "older-than"] {
            assert!(script.stdout.contains(text), "{shell}: no {text:?}");
        }
    }
    let other = run(&mut kubectl_mlflow(), &["completion", "tcsh"]);
    assert_eq!(other.code, 2);
    assert!(other.stderr.contains("bash, zsh, fish"), "{}", other.stderr);
}

#[test]
fn kubectl_plugin_completion_answers_like_cobra() {
    let commands = run(&mut kubectl_mlflow(), &["__complete", "ins"]);
    assert_eq!(commands.stdout, "install\tInstall or upgrade an MLflow tracking server\n:4\n");
    let values = run(&mut kubectl_mlflow(), &["__complete", "install", "-o", ""]);
    assert!(
        values.stdout.starts_with("yaml") && values.stdout.contains("\njson") && values.stdout.ends_with(":4\n"),
        "{}",
        values.stdout
    );
}

#[test]
fn under_helm_it_is_helm_mlflow_and_install_uses_the_calling_helm() {
    let helm = |cmd: &mut Command| {
        cmd.env("HELM_PLUGIN_NAME", "mlflow").env("HELM_BIN", "/nonexistent/helm").env("HELM_NAMESPACE", "from-helm");
    };
    let mut cmd = kubectl_mlflow();
    helm(&mut cmd);
    let help = run(&mut cmd, &["--help"]);
    assert!(help.stdout.contains("Usage: helm mlflow [COMMAND]"), "{}", help.stdout);
    let mut cmd = kubectl_mlflow();
    helm(&mut cmd);
    let install_help = run(&mut cmd, &["install", "--help"]);
    assert!(install_help.stdout.contains("Usage: helm mlflow install [OPTIONS]"), "{}", install_help.stdout);
    let mut cmd = kubectl_mlflow();
    helm(&mut cmd);
    let dry_run = run(&mut cmd, &["install", "--dry-run"]);
    assert_eq!(dry_run.code, 0, "{}", dry_run.stderr);
    assert!(dry_run.stdout.contains("namespace: from-helm"), "{}", dry_run.stdout);
    // install goes to HELM_BIN: refused before any cluster is asked
    let mut cmd = kubectl_mlflow();
    helm(&mut cmd);
    let install = run(&mut cmd, &["install"]);
    assert_eq!(install.code, 2, "{}", install.stderr);
    assert!(install.stderr.contains("--helm-binary /nonexistent/helm: not an executable"), "{}", install.stderr);
    // so does uninstall, for the helm releases it meets
    let mut cmd = kubectl_mlflow();
    helm(&mut cmd);
    let uninstall = run(&mut cmd, &["uninstall"]);
    assert_eq!(uninstall.code, 2, "{}", uninstall.stderr);
    assert!(uninstall.stderr.contains("--helm-binary /nonexistent/helm: not an executable"), "{}", uninstall.stderr);
}

#[test]
fn port_forward_is_the_portforward_command() {
    let help = run(&mut kubectl_mlflow(), &["port-forward", "--help"]);
    assert_eq!(help.code, 0, "{}", help.stderr);
    assert!(help.stdout.contains("kubectl mlflow portforward"), "{}", help.stdout);
    let bad_port = run(&mut kubectl_mlflow(), &["port-forward", "--port", "70000"]);
    assert_eq!(bad_port.code, 2, "{}", bad_port.stderr);
}
