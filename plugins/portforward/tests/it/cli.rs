//! `kubectl mlflow portforward` without a cluster: its help, and bad input refused with exit
//! code 2 (a busy port with exit code 1) before any API call, with nothing on stdout.

use std::process::Output;

use kubectl_mlflow_test_support::process::offline_plugin;

fn run(args: &[&str]) -> Output {
    offline_plugin("kubectl-mlflow-portforward")
        .timeout(std::time::Duration::from_secs(60))
        .args(args)
        .output()
        .unwrap()
}

fn refused(args: &[&str], code: i32, needle: &str) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: {needle:?} not in {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: stdout {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn help_is_as_recorded() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn bad_ports_are_refused() {
    refused(&["--port", "70000"], 2, "invalid value '70000' for '--port <PORT>'");
    refused(&["--port", "http"], 2, "invalid value 'http' for '--port <PORT>'");
    refused(&["--port=-1"], 2, "invalid value '-1' for '--port <PORT>'");
}

#[test]
fn bad_addresses_are_refused() {
    refused(
        &["--address", "example.com"],
        2,
        "invalid value 'example.com' for '--address <ADDRESS>': not an IP address",
    );
    refused(&["--address", "127.0.0.1:5000"], 2, "not an IP address");
    // TEST-NET-1: an address no machine of ours has.
    refused(&["--address", "192.0.2.1", "--port", "0"], 2, "--address 192.0.2.1: not an address of this machine");
}

#[test]
fn bad_release_names_and_timeouts_are_refused() {
    refused(&["Not_A_Release", "--port", "0"], 2, "release name");
    refused(&["--timeout", "soon"], 2, "is not a duration");
}

#[test]
fn a_busy_port_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    refused(&["--port", &port], 1, &format!("127.0.0.1:{port} is already in use"));
}

#[test]
fn no_kubeconfig_is_input_to_fix() {
    refused(&["--port", "0"], 2, "no kubeconfig found");
}
