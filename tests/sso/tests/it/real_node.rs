//! Single sign-on on the real node (`scripts/test-cluster up --real`): a real OpenID Connect
//! provider in the cluster (`tests/sso/provider`: oauth2-proxy's mockoidc behind a login page),
//! MLflow installed with `oidc.*` behind the oauth2-proxy sidecar (both images built by
//! `scripts/node-images`), `kubectl mlflow portforward` in front of it, and:
//! - headless Chromium (Debian's package) opens the forwarded URL, is sent to the provider's login
//!   page, signs in as a member of the admitted group and lands on MLflow's experiments list (a
//!   screenshot under `<target>/debug/test-artifacts/sso/`, its path printed); a wrong password
//!   stays on the login page; a user outside the group gets oauth2-proxy's 403;
//! - the MLflow client with an ID token of the provider (`MLFLOW_TRACKING_TOKEN`) logs a run;
//!   without one the API answers 401 and the UI redirects (302) to the provider;
//! - the probes pass through the proxy (the pod is Ready), `/health` needs no sign-in, and
//!   MLflow's own port answers nobody outside the pod;
//! - `kubectl mlflow check` passes through the sign-in with a member's token and names why a
//!   non-member's fails; `kubectl mlflow status` finds the release Healthy and names the sign-in.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kubectl_mlflow_test_support::portforward::ForwardPlugin;
use kubectl_mlflow_test_support::process::{assert_ok, text};
use kubectl_mlflow_test_support::{
    cluster, mlflow_client, mlflow_python, ready_pods, real_namespace, repo_root, TestNamespace,
};
use serde_json::{json, Value};

use crate::browser::{artifacts_dir, browse, Visit};
use crate::http::request;
use crate::provider::{self, id_token, issuer_host, issuer_url, ALICE, BOB, CLIENT_ID, CLIENT_SECRET, GROUP, PROVIDER};

/// A free port on 127.0.0.1 (bound, then released for the caller).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free local port")
}

/// A child process killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `kubectl port-forward svc/kmlf-oidc PORT:PORT`: the browser reaches the issuer's host there
/// (the same port as the issuer URL's, which the provider names in its redirects).
fn forward_provider(namespace: &str, port: u16) -> Running {
    let mut child = cluster()
        .kubectl()
        .args(["port-forward", "--address", "127.0.0.1", "-n", namespace, &format!("svc/{PROVIDER}")])
        .arg(format!("{port}:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run kubectl port-forward");
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).expect("its first line");
    assert!(line.contains("Forwarding from"), "kubectl port-forward printed {line:?}");
    // It prints a line per connection: on a closed pipe the first one would end it (SIGPIPE).
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    Running(child)
}

fn say(line: &str) {
    // past the test harness's capture, so a passing run shows it too
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn people_sign_in_with_the_provider_and_pipelines_with_its_tokens() {
    let ns = real_namespace("sso").await;
    let name = ns.name().to_string();
    let provider_port = free_port();
    let issuer = issuer_url(&name, provider_port);
    let host = issuer_host(&name, provider_port);

    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("provider.json");
    std::fs::write(&manifest, provider::manifest(&name, provider_port)).unwrap();
    cluster().kubectl_stdout(&["apply", "-f", &manifest.display().to_string()]);
    cluster().kubectl_stdout(&["rollout", "status", &format!("deployment/{PROVIDER}"), "-n", &name, "--timeout=2m"]);

    let secrets = ns.run_with_stdin(
        "kubectl-mlflow-secrets",
        &["oidc", "--client-id", CLIENT_ID, "--client-secret", "-", "--issuer-url", &issuer],
        CLIENT_SECRET,
    );
    assert_ok(&secrets);
    let snippet = dir.path().join("oidc-values.yaml");
    std::fs::write(&snippet, &secrets.stdout).unwrap();
    let quickstart = repo_root().join("tests/values/quickstart.yaml").display().to_string();
    let snippet = snippet.display().to_string();
    let group = format!("oidc.allowedGroups[0]={GROUP}");
    let installed = ns.run(
        "kubectl-mlflow-install",
        &[
            "-f",
            &quickstart,
            "-f",
            &snippet,
            "--set",
            &group,
            "--set",
            "server.value_options.workers=1",
            "--timeout",
            "8m",
        ],
    );
    assert_ok(&installed);

    // The pod is Ready by probes through the proxy; MLflow's own port is closed to the pod's IP.
    let pods = ready_pods(&ns, "app.kubernetes.io/component=server").await;
    let ip: std::net::IpAddr = pods[0].status.as_ref().and_then(|s| s.pod_ip.clone()).unwrap().parse().unwrap();
    let reach = |port: u16| TcpStream::connect_timeout(&SocketAddr::new(ip, port), Duration::from_secs(5)).is_ok();
    assert!(reach(4180), "the proxy's port 4180 of pod {ip} answers nobody");
    assert!(!reach(5000), "MLflow's own port 5000 answers at the pod's address {ip}");

    let forward = ForwardPlugin::start(&ns, &["--port", &free_port().to_string()], &[], Duration::from_secs(180));
    let url = forward.urls[0].clone();
    let local_port = forward.addr().port();
    let notes = forward.wait_stderr("single sign-on:", Duration::from_secs(10));
    assert!(notes.contains(&format!("{url}oauth2/callback")), "portforward names no redirect URL:\n{notes}");
    let _provider = forward_provider(&name, provider_port);
    let resolve = format!("MAP {PROVIDER}.{name}.svc.cluster.local 127.0.0.1");
    let local_host = format!("127.0.0.1:{local_port}");

    let health = request(local_port, &local_host, "GET", "/health", &[], "").unwrap();
    assert_eq!((health.status, health.body.trim()), (200, "OK"), "/health without signing in");
    let ui = request(local_port, &local_host, "GET", "/", &[], "").unwrap();
    assert_eq!(ui.status, 302, "the UI without a session: {ui:?}");
    let location = ui.header("Location").unwrap_or_default();
    assert!(location.starts_with(&format!("{issuer}/authorize?")), "redirected to {location}");
    assert!(
        location.contains(&format!("redirect_uri=http%3A%2F%2F127.0.0.1%3A{local_port}%2Foauth2%2Fcallback")),
        "{location}"
    );
    let api = "/api/2.0/mlflow/experiments/search?max_results=1";
    let anonymous = request(local_port, &local_host, "GET", api, &[], "").unwrap();
    assert_eq!(anonymous.status, 401, "the API without a token: {anonymous:?}");

    // The browser: a member of the group lands on the experiments list.
    let artifacts = artifacts_dir();
    let shot = artifacts.join("signed-in-experiments.png");
    let experiments = format!("{url}#/experiments");
    let seen = browse(&Visit {
        url: &url,
        user: ALICE.name,
        password: ALICE.password,
        until: "MLflow",
        then: Some((&experiments, "Experiments[\\s\\S]*Default")),
        resolve: &resolve,
        screenshot: &shot,
    });
    say(&format!("sso: screenshot of MLflow's experiments list after signing in: {}", shot.display()));
    assert!(seen.matched, "alice did not reach the experiments list: {:#}", seen.json);
    assert!(seen.url.starts_with(&url), "alice ended at {}", seen.url);
    assert!(std::fs::metadata(&shot).map(|m| m.len() > 10_000).unwrap_or(false), "no screenshot at {}", shot.display());

    // A wrong password stays on the provider's login page.
    let wrong = browse(&Visit {
        url: &url,
        user: ALICE.name,
        password: "not-her-password",
        until: "Invalid username or password",
        then: None,
        resolve: &resolve,
        screenshot: &artifacts.join("wrong-password.png"),
    });
    assert!(wrong.matched, "a wrong password: {:#}", wrong.json);
    assert!(
        wrong.url.starts_with(&format!("{issuer}/authorize")),
        "a wrong password left the login page: {}",
        wrong.url
    );
    assert!(!wrong.text.contains("Experiments"), "{}", wrong.text);

    // A user outside the admitted group is refused by the proxy.
    let outsider = browse(&Visit {
        url: &url,
        user: BOB.name,
        password: BOB.password,
        until: "403[\\s\\S]*Forbidden",
        then: None,
        resolve: &resolve,
        screenshot: &artifacts.join("outside-the-group.png"),
    });
    assert!(outsider.matched, "bob (groups {}) was not refused: {:#}", BOB.groups, outsider.json);
    assert!(!outsider.text.contains("Experiments"), "{}", outsider.text);

    // Pipelines: the MLflow client with the provider's ID token logs a run; bob's is refused.
    let token = id_token(provider_port, &host, ALICE);
    let run = mlflow_client(url.trim_end_matches('/'), &[("MLFLOW_TRACKING_TOKEN", &token)], &["roundtrip"]);
    assert!(run["run_id"].as_str().is_some_and(|id| !id.is_empty()), "{run}");
    let bearer = format!("Bearer {token}");
    let with_token = request(local_port, &local_host, "GET", api, &[("Authorization", &bearer)], "").unwrap();
    assert_eq!(with_token.status, 200, "{with_token:?}");
    let outsider = format!("Bearer {}", id_token(provider_port, &host, BOB));
    let refused = request(local_port, &local_host, "GET", api, &[("Authorization", &outsider)], "").unwrap();
    assert_eq!(refused.status, 403, "bob's token: {refused:?}");
    let without = Command::new(mlflow_python())
        .arg(repo_root().join("tests/contract/client.py"))
        .arg("roundtrip")
        .env("MLFLOW_TRACKING_URI", url.trim_end_matches('/'))
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .env_remove("MLFLOW_TRACKING_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!without.status.success(), "the MLflow client without a token logged a run");
    drop(forward);

    check_and_status_through_the_sign_in(&ns, &issuer, provider_port, &host);
    ns.delete().await;
}

/// `kubectl mlflow check` passes through the sign-in with alice's token (never printing it) and
/// fails at the first step past it with bob's, naming why; `kubectl mlflow status` finds the
/// release Healthy and names the sign-in.
fn check_and_status_through_the_sign_in(ns: &TestNamespace, issuer: &str, provider_port: u16, host: &str) {
    let token = id_token(provider_port, host, ALICE);
    let checked = ns.run_with_stdin("kubectl-mlflow-check", &["--token-file", "-", "-o", "json"], &token);
    assert_ok(&checked);
    assert!(!text(&checked).contains(&token), "check printed the token:\n{}", text(&checked));
    let doc: Value = serde_json::from_slice(&checked.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&checked)));
    assert_eq!((&doc["passed"], &doc["signIn"]), (&json!(true), &json!(issuer)), "{doc:#}");
    assert_eq!(doc["mlflowVersion"], "3.17.2", "{doc:#}");
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(stderr.contains("sending the token of --token-file as a bearer token"), "{stderr}");

    let outsider = id_token(provider_port, host, BOB);
    let refused = ns.run_with_stdin("kubectl-mlflow-check", &["--token-file", "-"], &outsider);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("step \"version\" failed: GET /version: the server answered 403 Forbidden"), "{stderr}");
    assert!(stderr.contains("the sign-in admits the token, not its user"), "{stderr}");
    assert!(stderr.contains("(container oauth2-proxy)"), "{stderr}");
    assert!(!text(&refused).contains(&outsider), "check printed the token");

    let status = ns.run("kubectl-mlflow-status", &["-o", "json"]);
    let doc: Value = serde_json::from_slice(&status.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&status)));
    assert_eq!(doc["verdict"]["state"], "Healthy", "{}", text(&status));
    assert_ok(&status);
    assert_eq!(
        doc["auth"]["singleSignOn"],
        json!({"issuer": issuer, "emailDomains": ["*"], "allowedGroups": [GROUP]}),
        "{doc:#}"
    );
    assert_eq!(doc["server"]["pods"][0]["containersReady"], "2/2", "{doc:#}");
}
