//! `kubectl mlflow status` without a cluster: its help, and bad input or an unreachable cluster
//! refused with one clear line and the conventions' exit codes (2 input, 1 failed).

use assert_cmd::Command;

fn status() -> Command {
    let mut cmd = Command::cargo_bin("kubectl-mlflow-status").unwrap();
    cmd.env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .env_remove("HELM_NAMESPACE")
        .env_remove("HELM_KUBECONTEXT")
        .env("KUBECONFIG", "/nonexistent/kubeconfig");
    cmd
}

fn stderr(args: &[&str], code: i32) -> String {
    let out = status().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_is_as_recorded() {
    let out = status().arg("--help").output().unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_bad_release_name_is_refused_before_connecting() {
    insta::assert_snapshot!(stderr(&["My_Release"], 2));
}

#[test]
fn an_unknown_output_format_is_refused() {
    let err = stderr(&["-o", "table"], 2);
    assert!(err.contains("invalid value 'table'") && err.contains("[possible values: yaml, json]"), "{err}");
}

#[test]
fn without_a_kubeconfig_it_says_where_one_is_looked_for() {
    insta::assert_snapshot!(stderr(&[], 2));
}

#[test]
fn an_unreachable_cluster_fails_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kubeconfig");
    std::fs::write(
        &config,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\n\
         users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u, namespace: ml}}]\ncurrent-context: c\n",
    )
    .unwrap();
    let err = stderr(&["--kubeconfig", &config.display().to_string()], 1);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains("cannot list Deployments in namespace ml"), "{err}");
}

#[test]
fn the_multicall_binary_runs_it() {
    let multicall = kubectl_mlflow_test_support::plugin_bin("kubectl-mlflow");
    let out = std::process::Command::new(multicall).args(["status", "--help"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: kubectl mlflow status [OPTIONS] [RELEASE]"));
}
