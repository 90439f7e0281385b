//! `kubectl mlflow portforward` against the test cluster's KWOK node. KWOK serves each pod's
//! port-forward through its PortForward resource: the tests point every server pod at an HTTP
//! server of their own on 127.0.0.1 that answers with the pod's name, so they see which pod a
//! request reached. Run by scripts/test with --ignored; every request has a timeout.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher::{self, watcher, Event};
use kubectl_mlflow_test_support::http::request;
use kubectl_mlflow_test_support::portforward::ForwardPlugin;
use kubectl_mlflow_test_support::{cluster, forward_pod_port, plugin, pod_is_ready, poll_until, TestNamespace};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const START: Duration = Duration::from_secs(90);
const SWITCH: Duration = Duration::from_secs(60);

/// A server Deployment labelled as the official chart labels it (name and instance, no component).
fn deployment(release: &str, replicas: i32, container: Value, pod_spec: Value) -> Deployment {
    let labels = json!({"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/instance": release});
    let mut container_json = json!({"name": "mlflow", "image": "ghcr.io/mlflow/mlflow:v3.17.2", "ports": [{"name": "http", "containerPort": 5000}]});
    container_json.as_object_mut().unwrap().extend(container.as_object().cloned().unwrap_or_default());
    let mut spec = json!({"containers": [container_json]});
    spec.as_object_mut().unwrap().extend(pod_spec.as_object().cloned().unwrap_or_default());
    serde_json::from_value(json!({
        "metadata": {"name": format!("{release}-mlflow"), "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": spec}
        }
    }))
    .unwrap()
}

async fn create(ns: &TestNamespace, deployment: &Deployment) {
    ns.api::<Deployment>().create(&PostParams::default(), deployment).await.unwrap();
}

/// Gives every pod of the namespace, as it appears, an HTTP server on 127.0.0.1 answering with
/// the pod's name, and a KWOK PortForward of its port 5000 to it. The set holds the pods served.
fn serve_pods(ns: &TestNamespace) -> ServedPods {
    let served = Arc::new(Mutex::new(BTreeSet::new()));
    let (client, namespace, seen) = (ns.client(), ns.name().to_string(), served.clone());
    tokio::spawn(async move {
        let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
        let mut events = watcher(pods, watcher::Config::default()).boxed();
        while let Some(event) = events.next().await {
            let (Ok(Event::Apply(pod)) | Ok(Event::InitApply(pod))) = event else { continue };
            let name = pod.metadata.name.unwrap_or_default();
            if seen.lock().unwrap().contains(&name) {
                continue;
            }
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let target = listener.local_addr().unwrap();
            tokio::spawn(http_server(listener, name.clone()));
            forward_pod_port(&client, &namespace, &name, 5000, target).await;
            seen.lock().unwrap().insert(name);
        }
    });
    served
}

/// Answers every request with the pod's name; `POST /echo` with the request body.
async fn http_server(listener: TcpListener, pod: String) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(answer(stream, pod.clone()));
    }
}

async fn answer(mut stream: TcpStream, pod: String) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    let (head_end, length) = loop {
        let Ok(n) = stream.read(&mut buf).await else { return };
        if n == 0 {
            return;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0usize);
            break (end + 4, length);
        }
    };
    while raw.len() < head_end + length {
        let Ok(n) = stream.read(&mut buf).await else { return };
        if n == 0 {
            return;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let body =
        if raw.starts_with(b"POST /echo") { raw[head_end..head_end + length].to_vec() } else { pod.into_bytes() };
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

/// A namespace with release `mlflow` of `replicas` served pods (see [`serve_pods`]), all Ready.
async fn served_release(prefix: &str, replicas: i32, container: Value) -> (TestNamespace, ServedPods, Vec<String>) {
    let ns = cluster().namespace(prefix).await;
    let served = serve_pods(&ns);
    create(&ns, &deployment("mlflow", replicas, container, json!({}))).await;
    let pods = wait_ready(&ns, &served, replicas as usize).await;
    (ns, served, pods)
}

type ServedPods = Arc<Mutex<BTreeSet<String>>>;

/// Waits until `count` pods are served and Ready.
async fn wait_ready(ns: &TestNamespace, served: &ServedPods, count: usize) -> Vec<String> {
    let pods: Api<Pod> = ns.api();
    let ready = || async {
        let list = pods.list(&Default::default()).await.unwrap();
        let names: Vec<String> =
            list.items.iter().filter(|p| pod_is_ready(p)).filter_map(|p| p.metadata.name.clone()).collect();
        let all_served = names.iter().all(|n| served.lock().unwrap().contains(n));
        (names.len() >= count && all_served).then_some(names)
    };
    poll_until(START, || async { ready().await.is_some() })
        .await
        .unwrap_or_else(|_| panic!("{count} served Ready pods never appeared"));
    ready().await.unwrap()
}

/// The plugin run to its end, with the cluster's kubeconfig, in the namespace.
fn run_to_end(ns: &TestNamespace, args: &[&str]) -> (Option<i32>, String, String) {
    let out = plugin("kubectl-mlflow-portforward").args(ns.cluster_args()).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn start(ns: &TestNamespace, args: &[&str]) -> ForwardPlugin {
    ForwardPlugin::start(ns, args, &[], START)
}

/// The pod behind the forward now: what a request through it answers.
async fn pod_behind(plugin: &ForwardPlugin) -> String {
    let response = request(plugin.addr(), "GET", "/health", b"")
        .await
        .unwrap_or_else(|e| panic!("{e}; stderr:\n{}", plugin.stderr()));
    assert_eq!(response.status, 200);
    response.text()
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn bytes_flow_and_fifty_concurrent_requests_succeed() {
    let (ns, _served, pods) = served_release("pf-bytes", 1, json!({})).await;
    let plugin = start(&ns, &["--port", "0"]);
    assert_eq!(plugin.urls.len(), 1);
    assert!(plugin.urls[0].starts_with("http://127.0.0.1:") && plugin.urls[0].ends_with('/'), "{:?}", plugin.urls);
    assert!(
        plugin.stderr().contains(&format!("to pod {} port 5000 in namespace {}", pods[0], ns.name())),
        "{}",
        plugin.stderr()
    );

    // A megabyte each way, byte for byte.
    let payload: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let echoed = request(plugin.addr(), "POST", "/echo", &payload).await.unwrap();
    assert_eq!(echoed.status, 200);
    assert!(echoed.body == payload, "the echo differs: {} of {} bytes", echoed.body.len(), payload.len());

    let addr = plugin.addr();
    let requests = (0..50).map(|_| tokio::spawn(async move { request(addr, "GET", "/health", b"").await }));
    let answers = futures::future::join_all(requests).await;
    let failed: Vec<String> = answers.into_iter().map(|a| a.unwrap()).filter_map(|a| a.err()).collect();
    assert!(failed.is_empty(), "{} of 50 requests failed: {failed:?}\nstderr:\n{}", failed.len(), plugin.stderr());
    assert_eq!(pod_behind(&plugin).await, pods[0]);
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn follows_the_release_when_its_pod_is_deleted_or_stops_being_ready() {
    let (ns, served, _) = served_release("pf-follow", 2, json!({})).await;
    let plugin = start(&ns, &["--port", "0"]);
    let pods: Api<Pod> = ns.api();

    // Deleted: the next Ready pod takes over, without restarting the plugin.
    let first = pod_behind(&plugin).await;
    pods.delete(&first, &DeleteParams::default()).await.unwrap();
    // The watch may deliver "terminating" and "gone" before the announcement is made: either is right.
    let terminating = format!("pod {first} is terminating: forwarding to pod");
    let gone = format!("pod {first} is gone: forwarding to pod");
    plugin.wait_stderr_any(&[&terminating, &gone], SWITCH);
    let second = pod_behind(&plugin).await;
    assert_ne!(second, first);

    // Not Ready (the readiness probe failing, as the kubelet reports it): the next Ready pod
    // (the Deployment's replacement of the deleted one) takes over.
    wait_ready(&ns, &served, 2).await;
    let unready =
        json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "ReadinessProbeFailed"}]}});
    pods.patch_status(&second, &PatchParams::default(), &Patch::Strategic(unready)).await.unwrap();
    plugin.wait_stderr(&format!("pod {second} is no longer Ready"), SWITCH);
    let third = pod_behind(&plugin).await;
    assert!(third != second && third != first, "{first} {second} {third}");
    assert!(request(plugin.addr(), "GET", "/health", b"").await.is_ok());
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn without_a_ready_pod_it_times_out_listing_the_pods_states() {
    let ns = cluster().namespace("pf-noready").await;
    let nowhere = json!({"nodeSelector": {"kubectl-mlflow.test/no-such-node": "true"}});
    create(&ns, &deployment("mlflow", 1, json!({}), nowhere)).await;
    let (code, stdout, stderr) = run_to_end(&ns, &["--port", "0", "--timeout", "5s"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("no Ready server pod of release mlflow in namespace {} after 5s", ns.name())),
        "{stderr}"
    );
    assert!(stderr.contains("Pending: Unschedulable"), "{stderr}");
    assert!(stdout.is_empty());
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_second_instance_on_the_same_port_fails_clearly() {
    let (ns, _served, _) = served_release("pf-busy", 1, json!({})).await;
    let plugin = start(&ns, &["--port", "0"]);
    let port = plugin.addr().port().to_string();
    let (code, _, stderr) = run_to_end(&ns, &["--port", &port]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port} is already in use")), "{stderr}");
    // The first one keeps serving.
    assert!(request(plugin.addr(), "GET", "/health", b"").await.is_ok());
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn an_unknown_release_lists_the_releases_found() {
    let ns = cluster().namespace("pf-unknown").await;
    create(&ns, &deployment("tracking", 1, json!({}), json!({}))).await;
    let (code, stdout, stderr) = run_to_end(&ns, &["--port", "0", "nosuch"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("release nosuch not found in namespace {}; releases there: tracking", ns.name())),
        "{stderr}"
    );
    assert!(stdout.is_empty());
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn tls_prefix_and_auth_are_shown_and_ctrl_c_ends_with_exit_0() {
    let container = json!({
        "command": ["mlflow", "server", "--port=5000", "--app-name=basic-auth", "--static-prefix=/ml",
                    "--uvicorn-opts=--ssl-keyfile=/etc/mlflow/tls/tls.key --ssl-certfile=/etc/mlflow/tls/tls.crt"],
        "ports": [{"name": "https", "containerPort": 5000}],
        "env": [{"name": "MLFLOW_AUTH_ADMIN_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "mlflow-admin", "key": "password"}}}]
    });
    let (ns, _served, _) = served_release("pf-show", 1, container).await;
    let secret = json!({"metadata": {"name": "mlflow-admin"}, "stringData": {"password": "never-shown-1234"}});
    ns.api::<Secret>().create(&PostParams::default(), &serde_json::from_value(secret).unwrap()).await.unwrap();
    let fake_browser = tempfile::tempdir().unwrap();
    let opened = fake_browser.path().join("opened");
    let script = fake_browser.path().join("xdg-open");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$1\" > {}\n", opened.display())).unwrap();
    std::fs::set_permissions(&script, <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755))
        .unwrap();
    let path = format!("{}:{}", fake_browser.path().display(), std::env::var("PATH").unwrap_or_default());
    let mut plugin =
        ForwardPlugin::start(&ns, &["--port", "0", "--address", "localhost", "--open"], &[("PATH", &path)], START);

    let port = plugin.addr().port();
    assert_eq!(plugin.urls[0], format!("https://127.0.0.1:{port}/ml/"));
    assert!(
        plugin.urls.len() <= 2 && plugin.urls.iter().skip(1).all(|u| u == &format!("https://[::1]:{port}/ml/")),
        "{:?}",
        plugin.urls
    );
    let stderr = plugin.stderr();
    assert!(
        stderr.contains("basic auth: log in as admin; the password is in Secret mlflow-admin, key password"),
        "{stderr}"
    );
    assert!(!stderr.contains("never-shown-1234") && !plugin.urls.concat().contains("never-shown-1234"), "{stderr}");
    poll_until(Duration::from_secs(10), || async { opened.is_file() }).await.expect("--open started no browser");
    assert_eq!(std::fs::read_to_string(&opened).unwrap().trim(), plugin.urls[0]);

    plugin.interrupt();
    assert_eq!(plugin.wait_exit(Duration::from_secs(10)), Some(0), "stderr:\n{}", plugin.stderr());
    ns.delete().await;
}
