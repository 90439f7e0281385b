//! `kubectl mlflow uninstall` without a cluster: bad input is refused with exit code 2 before
//! anything is read or written, and its help is as recorded.

use assert_cmd::Command;
use kubectl_mlflow_test_support::process::{assert_refused_in_one_line, offline_plugin};

fn bin() -> Command {
    offline_plugin("kubectl-mlflow-uninstall")
}

fn refused(args: &[&str], topic: &str) {
    let out = bin().args(args).write_stdin("").output().unwrap();
    assert_refused_in_one_line(&out, topic);
}

#[test]
fn bad_input_is_refused_before_connecting() {
    refused(&["Bad_Name"], "RELEASE: \"Bad_Name\" is not a valid release name");
    refused(&["--timeout", "soon"], "is not a duration");
    refused(&["--timeout=-5m"], "is not a duration");
    refused(&["--timeout", "99999999999999999999h"], "too long a duration");
    refused(&["--delete-pvcs"], "standard input is not a terminal: add --yes");
    refused(&["--dry-run=server"], "--dry-run");
    refused(&["--helm-binary", "/nonexistent/helm"], "--helm-binary /nonexistent/helm: not an executable");
    refused(&[], "no kubeconfig found");
}

#[test]
fn every_input_problem_is_reported_at_once() {
    let out = bin().args(["x-", "--delete-pvcs"]).write_stdin("").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a valid release name") && stderr.contains("add --yes"), "{stderr}");
}

#[test]
fn help_is_as_recorded() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}
