//! The cluster's metrics API (metrics.k8s.io) for the autoscaling test: metrics-server v0.8.0
//! (tests/real-node/manifests/metrics-server*.yaml, its image from `KMLF_IMAGES=metrics-server
//! scripts/node-images build`). Installed once per cluster and left there: other tests on a
//! shared node may use it, and an APIService whose server went away would stall every namespace
//! deletion. What is already there (ours or another metrics API) is used as it is.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kubectl_mlflow_test_support::{cluster, repo_root, REAL_NODE_NAME};

const APISERVICE: &str = "apiservice/v1beta1.metrics.k8s.io";
const CLIENT_SECRET: &str = "kmlf-metrics-server-kubelet-client";
const CSR: &str = "kmlf-metrics-server-kubelet-client";
/// Who may read metrics when the aggregator's requests arrive anonymous.
const ANONYMOUS_BINDING: &str = "kmlf-metrics-reader-anonymous";

/// Makes sure `kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes/<real node>` answers;
/// installs metrics-server first when no metrics API is registered.
pub async fn ensure() {
    let registered = cluster().kubectl_output(&["get", APISERVICE, "-o", "name"]).is_ok();
    if registered {
        eprintln!("metrics-api: the metrics API is registered already: used as it is");
    } else {
        install().await;
    }
    let node = format!("/apis/metrics.k8s.io/v1beta1/nodes/{REAL_NODE_NAME}");
    if let Err(last) = until(Duration::from_secs(180), || cluster().kubectl_output(&["get", "--raw", &node])) {
        let status = cluster().kubectl_output(&["get", APISERVICE, "-o", "jsonpath={.status.conditions}"]);
        if !registered {
            // ours never served: leave no APIService that stalls namespace deletion
            let _ = cluster().kubectl_output(&["delete", APISERVICE, "--ignore-not-found"]);
        }
        panic!(
            "the metrics API gave no metrics of {REAL_NODE_NAME} within 3 min: {last}\nAPIService: {status:?}\n{}",
            logs()
        );
    }
}

async fn install() {
    let port = cluster().config().await.cluster_url.port_u16().expect("the API server's URL has a port");
    eprintln!("metrics-api: installing metrics-server v0.8.0 (kube-system)");
    kubelet_client_certificate();
    anonymous_reads_if_needed();
    let manifests = repo_root().join("tests/real-node/manifests");
    let server = std::fs::read_to_string(manifests.join("metrics-server.yaml")).unwrap();
    apply(&server.replace("${APISERVER_PORT}", &port.to_string()));
    let ready = cluster().kubectl_output(&[
        "wait",
        "-n",
        "kube-system",
        "deploy/metrics-server",
        "--for=condition=Available",
        "--timeout=180s",
    ]);
    assert!(
        ready.is_ok(),
        "metrics-server not Available (its /readyz needs one scrape of the kubelet): {ready:?}\n{}",
        logs()
    );
    apply(&std::fs::read_to_string(manifests.join("metrics-server-apiservice.yaml")).unwrap());
}

/// A client certificate the kubelet takes (signed by the cluster's CA through a
/// CertificateSigningRequest), in the Secret the Deployment mounts; kept when it exists.
fn kubelet_client_certificate() {
    if cluster().kubectl_output(&["get", "secret", "-n", "kube-system", CLIENT_SECRET]).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (key, csr) = (dir.path().join("tls.key"), dir.path().join("tls.csr"));
    let made = Command::new("openssl")
        .args(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kmlf-metrics-server", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&csr)
        .stdin(Stdio::null())
        .output()
        .expect("openssl");
    assert!(made.status.success(), "openssl req: {}", String::from_utf8_lossy(&made.stderr));
    let request = base64(&std::fs::read(&csr).unwrap());
    let _ = cluster().kubectl_output(&["delete", "csr", CSR, "--ignore-not-found"]);
    apply(&format!(
        "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n  name: {CSR}\nspec:\n  \
         request: {request}\n  signerName: kubernetes.io/kube-apiserver-client\n  expirationSeconds: 2592000\n  \
         usages: [client auth]\n"
    ));
    cluster().kubectl_stdout(&["certificate", "approve", CSR]);
    let cert = until(Duration::from_secs(60), || {
        match cluster().kubectl_output(&["get", "csr", CSR, "-o", "jsonpath={.status.certificate}"]) {
            Ok(c) if !c.trim().is_empty() => Ok(c),
            other => Err(format!("not signed yet: {other:?}")),
        }
    })
    .unwrap_or_else(|e| panic!("the CertificateSigningRequest {CSR} was not signed: {e}"));
    let crt = dir.path().join("tls.crt");
    std::fs::write(&crt, decode_base64(cert.trim())).unwrap();
    cluster().kubectl_stdout(&[
        "create",
        "secret",
        "tls",
        CLIENT_SECRET,
        "-n",
        "kube-system",
        &format!("--cert={}", crt.display()),
        &format!("--key={}", key.display()),
    ]);
}

/// Without a request-header CA the API server's aggregator sends no client certificate:
/// metrics-server sees system:anonymous, which RBAC then lets read metrics (and only that).
fn anonymous_reads_if_needed() {
    let auth = cluster().kubectl_stdout(&[
        "get",
        "configmap",
        "-n",
        "kube-system",
        "extension-apiserver-authentication",
        "-o",
        "jsonpath={.data.requestheader-client-ca-file}",
    ]);
    if !auth.trim().is_empty() {
        return;
    }
    eprintln!("metrics-api: the API server has no request-header CA: system:anonymous may read metrics");
    apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {ANONYMOUS_BINDING}\n  \
         labels: {{app.kubernetes.io/managed-by: kubectl-mlflow-tests}}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  \
         kind: ClusterRole\n  name: system:aggregated-metrics-reader\nsubjects:\n  \
         - {{apiGroup: rbac.authorization.k8s.io, kind: User, name: system:anonymous}}\n"
    ));
}

/// `kubectl apply -f -` of `yaml` (server-side: the same objects again change nothing).
fn apply(yaml: &str) {
    let mut child = cluster()
        .kubectl()
        .args(["apply", "--server-side", "--field-manager=kubectl-mlflow-tests", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl apply");
    child.stdin.take().unwrap().write_all(yaml.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "kubectl apply: {}\n{yaml}", String::from_utf8_lossy(&out.stderr));
}

/// metrics-server's pods and last log lines, for a failure's message.
fn logs() -> String {
    let pods = cluster().kubectl_output(&["get", "pods,events", "-n", "kube-system", "-l", "k8s-app=metrics-server"]);
    let log = cluster().kubectl_output(&["logs", "-n", "kube-system", "deploy/metrics-server", "--tail=30"]);
    format!("{}\n{}", pods.unwrap_or_else(|e| e), log.unwrap_or_else(|e| e))
}

/// Calls `f` every 2 s until it succeeds or `timeout` passes; the last error otherwise.
pub fn until<T>(timeout: Duration, mut f: impl FnMut() -> Result<T, String>) -> Result<T, String> {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_secs(2)),
        }
    }
}

fn base64(bytes: &[u8]) -> String {
    let out = Command::new("base64").arg("-w0").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    pipe(out, bytes)
}

fn decode_base64(text: &str) -> Vec<u8> {
    let out = Command::new("base64").arg("-d").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    pipe(out, text.as_bytes()).into_bytes()
}

fn pipe(mut child: std::process::Child, input: &[u8]) -> String {
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "base64 failed");
    String::from_utf8(out.stdout).unwrap()
}
