//! Single sign-on on the KWOK cluster (`scripts/test-cluster up`): what the API server decides.
//! The install's preflight refuses the sign-in's missing Secrets (and keys) before anything is
//! written, naming the command that makes them; `kubectl mlflow secrets oidc` writes both, keeps
//! its generated cookie secret on a rerun, and refuses before writing either when one holds other
//! data; the API server accepts the rendered sidecar from either engine, and everything
//! `tests/values/oidc-everything.yaml` turns on around it; `kubectl mlflow status` names the
//! sign-in, `kubectl mlflow check` without a token refuses before its first request.

use std::process::Output;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Secret, Service};
use kubectl_mlflow_test_support::helm::HELMS;
use kubectl_mlflow_test_support::process::{self, assert_ok, text};
use kubectl_mlflow_test_support::values::temp_values_file;
use kubectl_mlflow_test_support::{cluster, repo_root, TestNamespace};

const VALUES: &str = "storage:\n  enabled: true\nmlflow:\n  backendStoreUri: sqlite:////mlflow/mlflow.db\noidc:\n  enabled: true\n  issuerUrl: https://login.example.com/realms/ml\n  allowedGroups: [mlflow-users]\n";

fn install(ns: &TestNamespace, values: &std::path::Path, extra: &[&str]) -> Output {
    let values = values.display().to_string();
    let mut args = vec!["-f", values.as_str(), "--timeout", "2m"];
    args.extend_from_slice(extra);
    ns.run("kubectl-mlflow-install", &args)
}

fn secrets_oidc(ns: &TestNamespace, extra: &[&str]) -> Output {
    let mut args = vec!["oidc", "--client-id", "mlflow", "--client-secret", "-"];
    args.extend_from_slice(extra);
    ns.run_with_stdin("kubectl-mlflow-secrets", &args, "s3cret\n")
}

fn kubectl(args: &[&str]) {
    cluster().kubectl_stdout(args);
}

async fn containers(ns: &TestNamespace) -> Vec<Container> {
    let deployment = ns.api::<Deployment>().get("mlflow-mlflow").await.expect("the Deployment");
    deployment.spec.unwrap().template.spec.unwrap().containers
}

/// The sidecar as the API server stored it: the proxy owns the served port, MLflow the loopback,
/// the Secrets come by reference.
async fn assert_sidecar_stored(ns: &TestNamespace) {
    let containers = containers(ns).await;
    assert_eq!(containers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["mlflow", "oauth2-proxy"]);
    let proxy = &containers[1];
    let port = &proxy.ports.as_ref().unwrap()[0];
    assert_eq!((port.name.as_deref(), port.container_port), (Some("http"), 4180));
    let args = proxy.args.clone().unwrap_or_default();
    assert!(args.contains(&"--upstream=http://127.0.0.1:5000/".to_string()), "{args:?}");
    let from_secrets: Vec<String> = proxy
        .env
        .iter()
        .flatten()
        .filter_map(|e| e.value_from.as_ref()?.secret_key_ref.as_ref().map(|k| format!("{}/{}", k.name, k.key)))
        .collect();
    assert_eq!(
        from_secrets,
        ["mlflow-oidc-client/client-id", "mlflow-oidc-client/client-secret", "mlflow-oidc-cookie/cookie-secret"]
    );
    let mlflow = &containers[0];
    let mlflow_words: Vec<String> = mlflow.command.iter().chain(mlflow.args.iter()).flatten().cloned().collect();
    let mlflow_words = mlflow_words.join(" ");
    assert!(mlflow_words.contains("127.0.0.1"), "MLflow does not listen on the loopback: {mlflow_words}");
    let service = ns.api::<Service>().get("mlflow-mlflow").await.expect("the Service");
    let target = service.spec.unwrap().ports.unwrap()[0].target_port.clone();
    assert_eq!(
        target,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("http".into())),
        "the Service leads to the port the proxy owns"
    );
}

async fn cookie_secret(ns: &TestNamespace) -> Vec<u8> {
    let secret = ns.api::<Secret>().get("mlflow-oidc-cookie").await.expect("the cookie Secret");
    secret.data.and_then(|mut d| d.remove("cookie-secret")).expect("key cookie-secret").0
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_sign_in_secrets_are_checked_before_anything_is_written() {
    let ns = cluster().namespace("sso-preflight").await;
    let values = temp_values_file(VALUES);
    let name = ns.name().to_string();

    let refused = install(&ns, values.path(), &[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let hint = format!(
        "(make both Secrets of the sign-in: kubectl mlflow secrets oidc -n {name} --client-id <id> --client-secret -)"
    );
    for expected in [
        format!("oidc.clientSecretName: Secret mlflow-oidc-client not found in namespace {name} {hint}"),
        format!("oidc.cookieSecretName: Secret mlflow-oidc-cookie not found in namespace {name} {hint}"),
    ] {
        assert!(stderr.contains(&expected), "expected {expected:?} in:\n{stderr}");
    }
    assert!(
        ns.api::<Deployment>().get_opt("mlflow-mlflow").await.unwrap().is_none(),
        "a refused install wrote the Deployment"
    );

    kubectl(&["create", "secret", "generic", "mlflow-oidc-client", "-n", &name, "--from-literal=client-id=mlflow"]);
    let refused = install(&ns, values.path(), &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(
            "oidc.clientSecretName: Secret mlflow-oidc-client has no key \"client-secret\" (it has: client-id)"
        ),
        "{stderr}"
    );
    kubectl(&["delete", "secret", "mlflow-oidc-client", "-n", &name]);

    let made = secrets_oidc(&ns, &[]);
    assert_ok(&made);
    assert!(String::from_utf8_lossy(&made.stdout).contains("clientSecretName: mlflow-oidc-client"), "{}", text(&made));
    let cookie = cookie_secret(&ns).await;
    assert_eq!(cookie.len(), 44, "32 random bytes in base64");
    let again = secrets_oidc(&ns, &[]);
    assert_ok(&again);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("Secret/mlflow-oidc-cookie in namespace"),
        "{}",
        text(&again)
    );
    assert_eq!(cookie_secret(&ns).await, cookie, "a rerun keeps the generated cookie secret");

    assert_ok(&install(&ns, values.path(), &[]));
    assert_sidecar_stored(&ns).await;
    assert_status_and_check_see_the_sign_in(&ns);
    ns.delete().await;
}

/// `kubectl mlflow status` names the sign-in and whom it admits; `kubectl mlflow check` without a
/// token refuses before its first request, naming the issuer and where a token goes.
fn assert_status_and_check_see_the_sign_in(ns: &TestNamespace) {
    let status = ns.run("kubectl-mlflow-status", &["-o", "json"]);
    let doc: serde_json::Value =
        serde_json::from_slice(&status.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&status)));
    assert_eq!(
        doc["auth"]["singleSignOn"],
        serde_json::json!({"issuer": "https://login.example.com/realms/ml", "emailDomains": ["*"], "allowedGroups": ["mlflow-users"]}),
        "{}",
        text(&status)
    );
    let screen = ns.run("kubectl-mlflow-status", &[]);
    let screen_text = String::from_utf8_lossy(&screen.stdout);
    assert!(
        screen_text.contains(
            "single sign-on with https://login.example.com/realms/ml (oauth2-proxy), admitting groups mlflow-users; email domains *"
        ),
        "{}",
        text(&screen)
    );
    let check = process::plugin("kubectl-mlflow-check")
        .args(ns.cluster_args())
        .env_remove("MLFLOW_TRACKING_TOKEN")
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(2), "{}", text(&check));
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        stderr.contains(&format!(
            "release mlflow in namespace {} is behind single sign-on (oauth2-proxy, issuer https://login.example.com/realms/ml): \
             give a token that provider issued with --token-file FILE or MLFLOW_TRACKING_TOKEN",
            ns.name()
        )),
        "{stderr}"
    );
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn secrets_oidc_writes_neither_secret_when_one_holds_other_data() {
    let ns = cluster().namespace("sso-secrets").await;
    let name = ns.name().to_string();
    kubectl(&["create", "secret", "generic", "mlflow-oidc-cookie", "-n", &name, "--from-literal=something=else"]);
    let refused = secrets_oidc(&ns, &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("Secret/mlflow-oidc-cookie in namespace {name} already exists and holds other data")),
        "{stderr}"
    );
    assert!(refused.stdout.is_empty(), "{}", text(&refused));
    assert!(ns.api::<Secret>().get_opt("mlflow-oidc-client").await.unwrap().is_none(), "the client Secret was written");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_chart_renders_a_sidecar_the_api_server_accepts() {
    for helm in HELMS {
        let ns = cluster().namespace(&format!("sso-helm{}", helm.tool_set())).await;
        assert_ok(&secrets_oidc(&ns, &[]));
        let values = temp_values_file(VALUES);
        let binary = helm.binary().display().to_string();
        assert_ok(&install(&ns, values.path(), &["--helm", "--helm-binary", &binary]));
        assert_sidecar_stored(&ns).await;
        ns.delete().await;
    }
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn everything_around_the_sign_in_passes_a_server_dry_run() {
    let ns = cluster().namespace("sso-everything").await;
    let name = ns.name().to_string();
    assert_ok(&secrets_oidc(&ns, &["--name", "sso-client", "--cookie-secret-name", "sso-cookie"]));
    for secret in ["mlflow-tls", "mlflow-ingress-tls"] {
        let tls = ns
            .run("kubectl-mlflow-secrets", &["tls", "--self-signed", "--host", "mlflow.example.com", "--name", secret]);
        assert_ok(&tls);
    }
    let everything = repo_root().join("tests/values/oidc-everything.yaml");
    let out = install(&ns, &everything, &["--dry-run=server"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the server dry run of oidc-everything.yaml in {name} failed: {}", text(&out));
    assert!(stderr.contains("server-side dry run"), "{stderr}");
    ns.delete().await;
}
