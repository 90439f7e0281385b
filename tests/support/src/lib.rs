//! What the tests of every crate share.
//!
//! The local test cluster is the real control plane that `scripts/test-cluster` runs on
//! 127.0.0.1 (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, and KWOK simulating
//! one node). [`cluster()`] attaches to it, starting it once if it is not up, and
//! [`Cluster::namespace`] gives each test its own namespace, deleted when the returned
//! [`TestNamespace`] is dropped (or by [`TestNamespace::delete`]).
//!
//! ```no_run
//! # async fn demo() {
//! let cluster = kubectl_mlflow_test_support::cluster();
//! let ns = cluster.namespace("demo").await;
//! let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = ns.api();
//! # let _ = pods;
//! # }
//! ```
//!
//! Beside it: the plugins run as processes ([`process`]), real helm ([`helm`]), the values files and
//! the model's verdict on `--set` expressions ([`values`]), other projects' CRDs ([`crd`]), HTTP
//! with timeouts ([`http`]), the port-forward plugin in the background ([`portforward`]), a node
//! whose kubelet the test plays ([`ScriptedNode`]), the real node's helpers ([`real_namespace`], …),
//! the commands of MLflow's Kubernetes deployment guide ([`deployment_guide`]) and a seeded random
//! generator ([`random`]).
//!
//! Environment:
//! - `KMLF_TEST_KUBECONFIG`: use this kubeconfig instead of asking `scripts/test-cluster`.
//! - `KMLF_TEST_NO_START=1`: fail instead of starting the cluster when it is not up.
//! - `KMLF_TEST_KUBECTL`: kubectl binary to use (default: kubectl 1.35 from `scripts/k8s-tools`).

use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub mod audit;
mod control;
pub mod crd;
pub mod deployment_guide;
pub mod helm;
pub mod http;
pub mod portforward;
pub mod process;
pub mod random;
mod real_node;
mod scripted_node;
pub mod stores;
pub mod values;
pub use process::{assert_ok, plugin, text};
pub use real_node::{
    mlflow_client, mlflow_python, mlflow_venv, pod_is_ready, ready_pods, real_namespace, PortForward, REAL_NODE_NAME,
};
pub use scripted_node::{bound_pod, bound_pod_other_than, set_pod_state, ScriptedNode, SCRIPTED_NODE_TAINT};

/// Name of the one simulated node of the test cluster.
pub const NODE_NAME: &str = "kwok-node-0";

/// The running test cluster.
#[derive(Debug)]
pub struct Cluster {
    kubeconfig: PathBuf,
    kubectl: PathBuf,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// Root of the repository (this crate lives in `tests/support`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// A plugin binary of the workspace (`kubectl-mlflow-install`, …) beside this test's own build:
/// `cargo test --workspace` builds every one. Built here with `cargo build -p` when missing, so
/// one crate's tests also run alone. Not `cargo run -p`: a build of one package resolves features
/// apart from the workspace's and rebuilds the shared crates (a minute each time in CI).
pub fn plugin_bin(name: &str) -> PathBuf {
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps");
    let bin = dir.join(name);
    let _one_build_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    if !bin.is_file() {
        let built = Command::new(env!("CARGO"))
            .current_dir(repo_root())
            .args(["build", "-q", "-p", name])
            .status()
            .expect("run cargo build");
        assert!(built.success(), "cargo build -p {name} failed");
    }
    bin
}

/// The test cluster, attached once per test process; starts it with
/// `scripts/test-cluster up` if it is not running (unless `KMLF_TEST_NO_START` is set).
///
/// Panics with the reason when no cluster can be had.
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(attach) {
        Ok(c) => c,
        Err(e) => panic!("test cluster unavailable: {e}"),
    }
}

fn attach() -> Result<Cluster, String> {
    let kubectl = match std::env::var_os("KMLF_TEST_KUBECTL") {
        Some(p) => PathBuf::from(p),
        None => {
            let out = run_script("k8s-tools", &["path", "v35"], false)?;
            PathBuf::from(out.trim()).join("kubectl")
        }
    };
    let kubeconfig = match std::env::var_os("KMLF_TEST_KUBECONFIG") {
        Some(p) => PathBuf::from(p),
        None => match run_script("test-cluster", &["env"], true) {
            Ok(out) => parse_kubeconfig_line(&out)?,
            Err(env_err) => {
                if std::env::var_os("KMLF_TEST_NO_START").is_some() {
                    return Err(format!("not up and KMLF_TEST_NO_START is set: {env_err}"));
                }
                eprintln!("test-support: starting the test cluster (scripts/test-cluster up)");
                parse_kubeconfig_line(&run_script("test-cluster", &["up"], false)?)?
            }
        },
    };
    if !kubeconfig.is_file() {
        return Err(format!("kubeconfig {} does not exist", kubeconfig.display()));
    }
    Ok(Cluster { kubeconfig, kubectl })
}

fn run_script(name: &str, args: &[&str], quiet: bool) -> Result<String, String> {
    let script = repo_root().join("scripts").join(name);
    let out = Command::new(&script)
        .args(args)
        .stdin(Stdio::null())
        .stderr(if quiet { Stdio::piped() } else { Stdio::inherit() })
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {} failed ({}): {}",
            script.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn parse_kubeconfig_line(out: &str) -> Result<PathBuf, String> {
    out.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("KUBECONFIG="))
        .map(PathBuf::from)
        .ok_or_else(|| format!("no KUBECONFIG= line in output: {out:?}"))
}

impl Cluster {
    /// Path of the admin kubeconfig.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Path of the kubectl binary the tests use.
    pub fn kubectl_path(&self) -> &Path {
        &self.kubectl
    }

    /// A `kubectl` command with `KUBECONFIG` set to the cluster's.
    pub fn kubectl(&self) -> Command {
        let mut cmd = Command::new(&self.kubectl);
        cmd.env("KUBECONFIG", &self.kubeconfig);
        cmd
    }

    /// Runs a command line as a user types it (`sh -c`, the tests' kubectl first on PATH, the
    /// cluster's KUBECONFIG); returns stdout, or an error holding the line and its stderr.
    pub fn shell(&self, line: &str) -> Result<String, String> {
        self.shell_in(Path::new("."), line)
    }

    /// [`Cluster::shell`] in the directory `dir`.
    pub fn shell_in(&self, dir: &Path, line: &str) -> Result<String, String> {
        let kubectl_dir = self.kubectl.parent().unwrap_or(Path::new("."));
        let path = format!("{}:{}", kubectl_dir.display(), std::env::var("PATH").unwrap_or_default());
        let out = Command::new("sh")
            .current_dir(dir)
            .args(["-c", line])
            .env("PATH", path)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run sh: {e}"))?;
        match out.status.success() {
            true => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
            false => Err(format!("{line}: {} ({})", String::from_utf8_lossy(&out.stderr).trim(), out.status)),
        }
    }

    /// Runs kubectl with `args`; returns stdout, or an error holding stderr.
    pub fn kubectl_output(&self, args: &[&str]) -> Result<String, String> {
        let out =
            self.kubectl().args(args).stdin(Stdio::null()).output().map_err(|e| format!("cannot run kubectl: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "kubectl {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Runs kubectl with `args`; returns stdout, or panics with stderr.
    pub fn kubectl_stdout(&self, args: &[&str]) -> String {
        self.kubectl_output(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The kube client config for the cluster.
    pub async fn config(&self) -> Config {
        let kc = Kubeconfig::read_from(&self.kubeconfig).expect("read test kubeconfig");
        Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.expect("test kubeconfig is valid")
    }

    /// A new client (a client belongs to the tokio runtime that made it, so each test makes its own).
    pub async fn client(&self) -> Client {
        Client::try_from(self.config().await).expect("kube client")
    }

    /// A fresh namespace `<prefix>-<random>` for one test.
    pub async fn namespace(&self, prefix: &str) -> TestNamespace {
        self.namespace_with_labels(prefix, &[]).await
    }

    /// A fresh namespace with the given labels (e.g. pod-security levels).
    pub async fn namespace_with_labels(&self, prefix: &str, labels: &[(&str, &str)]) -> TestNamespace {
        let client = self.client().await;
        let name = format!("{}-{}", sanitize(prefix), random_suffix());
        let mut label_map: BTreeMap<String, String> =
            labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        label_map.insert("kubectl-mlflow.test/owned".into(), "true".into());
        let ns = Namespace {
            metadata: ObjectMeta { name: Some(name.clone()), labels: Some(label_map), ..Default::default() },
            ..Default::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
        // The ServiceAccount admission plugin refuses pods until the namespace's default
        // ServiceAccount exists.
        let sa: Api<k8s_openapi::api::core::v1::ServiceAccount> = Api::namespaced(client.clone(), &name);
        poll_until(Duration::from_secs(30), || async { sa.get_opt("default").await.ok().flatten().is_some() })
            .await
            .unwrap_or_else(|_| panic!("default ServiceAccount in {name} never appeared"));
        TestNamespace {
            name,
            client,
            kubeconfig: self.kubeconfig.clone(),
            kubectl: self.kubectl.clone(),
            deleted: false,
        }
    }
}

/// A namespace owned by one test; deleted on drop (without waiting).
pub struct TestNamespace {
    name: String,
    client: Client,
    kubeconfig: PathBuf,
    kubectl: PathBuf,
    deleted: bool,
}

impl TestNamespace {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// A namespaced API handle in this namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }

    /// `--kubeconfig <the cluster's> -n <this namespace>`.
    pub fn cluster_args(&self) -> [String; 4] {
        ["--kubeconfig".into(), self.kubeconfig.display().to_string(), "-n".into(), self.name.clone()]
    }

    /// The plugin `name` run on this namespace: `NAME ARGS --kubeconfig ... -n NS` (the cluster
    /// flags last: `kubectl-mlflow-secrets` takes them after its subcommand), stdin empty.
    pub fn run(&self, name: &str, args: &[&str]) -> Output {
        self.run_with_stdin(name, args, "")
    }

    /// [`TestNamespace::run`] with `stdin` as the standard input.
    pub fn run_with_stdin(&self, name: &str, args: &[&str], stdin: &str) -> Output {
        process::plugin(name).args(args).args(self.cluster_args()).write_stdin(stdin).output().unwrap()
    }

    /// Creates the Secret `name` holding `data` (as `stringData`).
    pub async fn create_secret(&self, name: &str, data: &[(&str, &str)]) {
        let data: BTreeMap<&str, &str> = data.iter().copied().collect();
        let secret: Secret =
            serde_json::from_value(serde_json::json!({"metadata": {"name": name}, "stringData": data})).unwrap();
        self.api::<Secret>().create(&PostParams::default(), &secret).await.unwrap();
    }

    /// The value of `key` in the Secret `name`, if both exist.
    pub async fn secret_value(&self, name: &str, key: &str) -> Option<String> {
        let secret = self.api::<Secret>().get_opt(name).await.unwrap()?;
        let value = secret.data.unwrap_or_default().remove(key)?;
        Some(String::from_utf8(value.0).expect("a UTF-8 secret value"))
    }

    /// Makes `kubectl port-forward` to `pod`'s `pod_port` reach `target` (a local TCP address
    /// chosen by the test), through KWOK's PortForward resource.
    pub async fn forward_pod_port(&self, pod: &str, pod_port: u16, target: SocketAddr) {
        forward_pod_port(&self.client, &self.name, pod, pod_port, target).await;
    }

    /// Makes `kubectl logs` of `pod` (all containers) return `file`, through KWOK's Logs
    /// resource. The file must be in the CRI log format: see [`write_cri_log`].
    pub async fn serve_pod_logs(&self, pod: &str, file: &Path) {
        let body = serde_json::json!({
            "spec": {"logs": [{"logsFile": file.to_string_lossy(), "follow": false}]}
        });
        create_kwok_object(&self.client, &self.name, "Logs", "logs", pod, body).await;
    }

    /// Makes `kubectl logs -f` of `pod`'s `container` follow `file` as it grows (see
    /// [`append_cri_log`]).
    pub async fn follow_pod_logs(&self, pod: &str, container: &str, file: &Path) {
        let body = serde_json::json!({
            "spec": {"logs": [{"containers": [container], "logsFile": file.to_string_lossy(), "follow": true}]}
        });
        create_kwok_object(&self.client, &self.name, "Logs", "logs", pod, body).await;
    }

    /// Deletes the namespace and waits until it is gone.
    pub async fn delete(mut self) {
        self.deleted = true;
        let api: Api<Namespace> = Api::all(self.client.clone());
        let _ = api.delete(&self.name, &DeleteParams::default()).await;
        let name = self.name.clone();
        let gone = poll_until(Duration::from_secs(60), || async { matches!(api.get_opt(&name).await, Ok(None)) }).await;
        if gone.is_err() {
            eprintln!("test-support: namespace {name} still terminating after 60s");
        }
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if self.deleted {
            return;
        }
        // Drop cannot await and may run outside any runtime: ask kubectl, without waiting.
        let _ = Command::new(&self.kubectl)
            .env("KUBECONFIG", &self.kubeconfig)
            .args(["delete", "namespace", &self.name, "--wait=false", "--ignore-not-found"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// [`TestNamespace::forward_pod_port`] from a task that holds only a client.
pub async fn forward_pod_port(client: &Client, namespace: &str, pod: &str, pod_port: u16, target: SocketAddr) {
    let body = serde_json::json!({
        "spec": {"forwards": [{
            "ports": [pod_port],
            "target": {"address": target.ip().to_string(), "port": target.port()},
        }]}
    });
    create_kwok_object(client, namespace, "PortForward", "portforwards", pod, body).await;
}

async fn create_kwok_object(
    client: &Client,
    namespace: &str,
    kind: &str,
    plural: &str,
    name: &str,
    body: serde_json::Value,
) {
    let gvk = GroupVersionKind::gvk("kwok.x-k8s.io", "v1alpha1", kind);
    let ar = ApiResource::from_gvk_with_plural(&gvk, plural);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
    let obj = DynamicObject::new(name, &ar).within(namespace).data(body);
    api.create(&PostParams::default(), &obj).await.unwrap_or_else(|e| panic!("create {kind} {namespace}/{name}: {e}"));
}

/// Polls `check` every 250 ms until it returns true; `Err(())` after `timeout`.
pub async fn poll_until<F, Fut>(timeout: Duration, mut check: F) -> Result<(), ()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Writes `lines` as a container log in the CRI format that the kubelet (and KWOK) serve:
/// `<RFC3339Nano time> stdout F <line>`.
pub fn write_cri_log(path: &Path, lines: &[&str]) -> std::io::Result<()> {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        out.push_str(&format!("2025-01-01T00:00:{:02}.000000000Z stdout F {line}\n", i % 60));
    }
    std::fs::write(path, out)
}

/// Appends `line` to a CRI log file (see [`write_cri_log`]), as a running container does.
pub fn append_cri_log(path: &Path, line: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).expect("the log file");
    writeln!(file, "2025-01-01T00:01:00.000000000Z stdout F {line}").expect("append to the log file");
}

fn sanitize(prefix: &str) -> String {
    let s: String =
        prefix.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let s = s.trim_matches('-');
    let s = if s.is_empty() { "test" } else { s };
    s.chars().take(40).collect::<String>().trim_end_matches('-').to_string()
}

fn random_suffix() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default());
    h.write_u32(std::process::id());
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut v = h.finish();
    (0..8)
        .map(|_| {
            let c = alphabet[(v % alphabet.len() as u64) as usize] as char;
            v /= alphabet.len() as u64;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_prefixes() {
        assert_eq!(sanitize("My_Test"), "my-test");
        assert_eq!(sanitize("--"), "test");
    }

    #[test]
    fn suffixes_differ() {
        assert_ne!(random_suffix(), random_suffix());
        assert_eq!(random_suffix().len(), 8);
    }

    #[test]
    fn parses_env_line() {
        assert_eq!(parse_kubeconfig_line("noise\nKUBECONFIG=/x/kubeconfig\n").unwrap(), PathBuf::from("/x/kubeconfig"));
        assert!(parse_kubeconfig_line("nothing").is_err());
    }
}
