//! `kubectl mlflow status` on the real node (`scripts/test-cluster up --real`): MLflow's own
//! images run, so the schema is read in the pod, a crash loop has a real exit code and log, the
//! kubelet measures the volume, and the production example's PostgreSQL is a real database.
//! Each test fails (never skips) on a KWOK node.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{PersistentVolume, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, PostParams};
use kubectl_mlflow_test_support::stores::{start_stores, store_secrets};
use kubectl_mlflow_test_support::{cluster, ready_pods, real_namespace, TestNamespace, REAL_NODE_NAME};
use serde_json::{json, Value};

use crate::helpers::{assert_code, assert_never_shown, assert_ok, status, status_json, stdout, text};

const SELECTOR: &str = "app.kubernetes.io/instance=mlflow";
/// One uvicorn worker: on 2 cores, four take minutes to start beside other pods.
const ONE_WORKER: &str = "server.value_options.workers=1";

fn install(ns: &TestNamespace, args: &[&str]) -> std::process::Output {
    ns.run("kubectl-mlflow-install", &[&["--timeout", "8m", "--set", ONE_WORKER], args].concat())
}

/// `kubectl exec deploy/mlflow-mlflow -- ARGS` in the server container.
fn exec(ns: &TestNamespace, args: &[&str]) -> String {
    cluster().kubectl_stdout(&[&["exec", "-n", ns.name(), "deploy/mlflow-mlflow", "-c", "mlflow", "--"], args].concat())
}

/// Polls `status -o json` (3 min at most) until `done` holds; returns that document.
fn status_until(ns: &TestNamespace, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (_, doc) = status_json(ns, &[]);
        if done(&doc) {
            return doc;
        }
        assert!(Instant::now() < deadline, "no {what} within 3 min; last status:\n{doc:#}");
        std::thread::sleep(Duration::from_secs(3));
    }
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_quick_start_is_healthy_with_its_schema_read_and_a_stamped_database_is_a_pending_migration() {
    let ns = real_namespace("status-real-quick").await;
    assert_ok(&install(&ns, &[]));
    let out = status(&ns, &[]);
    assert_code(&out, 0, &["Verdict    Healthy", "MLflow 3.17.2", "Schema     at "]);
    let (code, doc) = status_json(&ns, &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    let schema = &doc["schema"];
    assert_eq!(schema["state"], "current", "{doc:#}");
    let head = schema["expected"].as_array().unwrap().clone();
    assert!(!head.is_empty() && schema["current"].as_array().unwrap() == &head, "{schema:#}");
    assert!(
        stdout(&out).contains(&format!("as MLflow 3.17.2 expects, read in pod {}", schema["pod"].as_str().unwrap()))
    );

    // stamp the SQLite file one revision back, as an older MLflow would have left it
    let older = exec(
        &ns,
        &[
            "python",
            "-c",
            "import importlib.util, os; from alembic.script import ScriptDirectory; \
         d = os.path.join(importlib.util.find_spec('mlflow').submodule_search_locations[0], 'store', 'db_migrations'); \
         s = ScriptDirectory(d); print(s.get_revision(s.get_current_head()).down_revision)",
        ],
    );
    let older = older.trim().to_string();
    assert!(!older.is_empty() && older != "None", "{older:?}");
    exec(&ns, &[
        "python",
        "-c",
        &format!(
            "import sqlite3; c = sqlite3.connect('/mlflow/mlflow.db'); c.execute(\"UPDATE alembic_version SET version_num = '{older}'\"); c.commit()"
        ),
    ]);
    let out = status(&ns, &[]);
    let head = head[0].as_str().unwrap();
    assert_code(
        &out,
        1,
        &[
            &format!(
                "Verdict    Degraded: migration pending: the database is at {older}, MLflow 3.17.2 expects {head}"
            ),
            &format!("Schema     migration pending: the database is at {older}"),
        ],
    );
    let (_, doc) = status_json(&ns, &[]);
    assert_eq!(
        (doc["schema"]["state"].as_str(), doc["schema"]["current"][0].as_str()),
        (Some("migrationPending"), Some(older.as_str()))
    );
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn a_crash_loop_is_failing_with_its_exit_code_and_log_line() {
    let ns = real_namespace("status-real-crash").await;
    // a log config on the release's own volume, which install cannot look into: uvicorn refuses
    // the missing file in the pod
    let installed = install(
        &ns,
        &["--no-wait", "--set-string", "server.value_options.uvicorn_opts=--log-config /mlflow/missing-log.yaml"],
    );
    assert_ok(&installed);
    let pods = ns.api::<Pod>();
    let deadline = Instant::now() + Duration::from_secs(300);
    // (MLflow 3.17.2 exits 0 after uvicorn's refusal: the kubelet's reason is then Completed)
    let (exit_code, reason) = loop {
        let list = pods.list(&kube::api::ListParams::default().labels(SELECTOR)).await.unwrap();
        let ended = list
            .items
            .iter()
            .flat_map(|p| p.status.iter().flat_map(|s| s.container_statuses.iter().flatten()))
            .find_map(|c| c.last_state.as_ref().and_then(|s| s.terminated.as_ref()))
            .map(|t| (t.exit_code, t.reason.clone().unwrap_or_default()));
        if let Some(ended) = ended {
            break ended;
        }
        assert!(
            Instant::now() < deadline,
            "the container never restarted: {}",
            cluster().kubectl_stdout(&["get", "pods,events", "-n", ns.name()])
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let out = status(&ns, &[]);
    assert_code(
        &out,
        1,
        &[
            "Verdict    Failing: no server pod is Ready: pod mlflow-mlflow-",
            &format!("last exit {exit_code} ({reason})"),
            "'/mlflow/missing-log.yaml' does not exist",
        ],
    );
    let (_, doc) = status_json(&ns, &[]);
    let end = &doc["server"]["pods"][0]["lastTermination"];
    assert_eq!(end["exitCode"], exit_code, "{doc:#}");
    assert!(end["logLine"].as_str().unwrap().contains("'/mlflow/missing-log.yaml' does not exist"), "{doc:#}");
    ns.delete().await;
}

/// A claim whose volume is a small tmpfs of this machine: a `local` PersistentVolume (the kind the
/// node's provisioner makes) bound in advance to the release's claim, its StorageClass made for
/// it. Unmounted and removed on drop.
struct SmallVolume {
    dir: PathBuf,
    class: String,
    volume: String,
    client: kube::Client,
}

impl SmallVolume {
    async fn new(ns: &TestNamespace, mib: u64) -> SmallVolume {
        let dir = std::env::temp_dir().join(format!("kmlf-status-{}", ns.name()));
        std::fs::create_dir_all(&dir).unwrap();
        let mount = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m,mode=0777"), "tmpfs"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            mount.status.success(),
            "mount a tmpfs (the real node's tests run as root): {}",
            String::from_utf8_lossy(&mount.stderr)
        );
        let name = ns.name().to_string();
        let client = ns.client();
        let class: StorageClass = serde_json::from_value(json!({"metadata": {"name": name},
            "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"}))
        .unwrap();
        Api::<StorageClass>::all(client.clone()).create(&PostParams::default(), &class).await.unwrap();
        let volume: PersistentVolume = serde_json::from_value(json!({"metadata": {"name": name}, "spec": {
            "capacity": {"storage": format!("{mib}Mi")}, "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain", "storageClassName": name,
            "claimRef": {"namespace": ns.name(), "name": "mlflow-mlflow"},
            "local": {"path": dir.display().to_string()},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [REAL_NODE_NAME]}]}]}}
        }}))
        .unwrap();
        Api::<PersistentVolume>::all(client.clone()).create(&PostParams::default(), &volume).await.unwrap();
        SmallVolume { dir, class: name.clone(), volume: name, client }
    }

    async fn delete(self) {
        let _ = Api::<PersistentVolume>::all(self.client.clone()).delete(&self.volume, &DeleteParams::default()).await;
        let _ = Api::<StorageClass>::all(self.client.clone()).delete(&self.class, &DeleteParams::default()).await;
    }
}

impl Drop for SmallVolume {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// `df -B1` of the volume in the pod: (size, used, available).
fn df(ns: &TestNamespace) -> (u64, u64, u64) {
    let out = exec(ns, &["df", "-B1", "--output=size,used,avail", "/mlflow"]);
    let numbers: Vec<u64> =
        out.lines().nth(1).unwrap_or_default().split_whitespace().filter_map(|n| n.parse().ok()).collect();
    assert_eq!(numbers.len(), 3, "df printed: {out}");
    (numbers[0], numbers[1], numbers[2])
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn a_volume_filled_past_85_percent_warns_with_the_numbers_df_shows() {
    let ns = real_namespace("status-real-full").await;
    let small = SmallVolume::new(&ns, 64).await;
    let class = format!("storage.storageClassName={}", small.class);
    assert_ok(&install(&ns, &["--set", &class, "--set", "storage.size=64Mi"]));
    let (size, used, _) = df(&ns);
    let fill_mib = (size * 90 / 100).saturating_sub(used) / (1024 * 1024) + 1;
    exec(&ns, &["dd", "if=/dev/zero", "of=/mlflow/fill", "bs=1M", &format!("count={fill_mib}"), "status=none"]);
    let (size, used, avail) = df(&ns);
    assert!(used * 100 / size > 85, "df: {used} of {size}");
    // the kubelet measures volumes about once a minute
    let doc = status_until(&ns, "new volume usage", |doc| doc["volumes"][0]["usedBytes"].as_u64() == Some(used));
    let volume = &doc["volumes"][0];
    let du = exec(&ns, &["du", "-sB1", "/mlflow"]);
    let du: u64 = du.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(
        (volume["capacityBytes"].as_u64(), volume["usedBytes"].as_u64(), volume["availableBytes"].as_u64()),
        (Some(size), Some(used), Some(avail)),
        "the kubelet's numbers are df's in the pod (du says {du}): {volume:#}"
    );
    assert!(used.abs_diff(du) < 1024 * 1024, "df's used {used} is du's {du} on this tmpfs");
    assert_eq!(volume["warning"], true);
    let out = status(&ns, &[]);
    assert_code(&out, 1, &["Verdict    Degraded: volume mlflow-mlflow is ", "% full", "— warning: above 85 %"]);
    cluster().kubectl_stdout(&["delete", "namespace", ns.name(), "--wait=true", "--timeout=120s"]);
    small.delete().await;
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_production_example_shows_its_postgresql_and_s3_stores_without_credentials() {
    let ns = real_namespace("status-real-prod").await;
    start_stores(&ns);
    let snippet = store_secrets(&ns);
    assert_ok(&install(
        &ns,
        &["-f", "charts/example-mlflow-charts.yaml", "-f", &snippet.display().to_string(), "--set", "replicaCount=1"],
    ));
    let ready = ready_pods(&ns, SELECTOR).await;
    let described: Vec<_> = ready
        .iter()
        .map(|p| {
            let owner = p.metadata.owner_references.iter().flatten().map(|o| o.name.clone()).collect::<Vec<_>>();
            (p.metadata.name.clone(), owner, p.metadata.deletion_timestamp.is_some())
        })
        .collect();
    assert_eq!(ready.len(), 1, "Ready pods right after install (name, owner, terminating): {described:?}");
    let out = status(&ns, &[]);
    assert_code(
        &out,
        0,
        &[
            "Verdict    Healthy",
            "backend    PostgreSQL database mlflow on postgres:5432 (from Secret mlflow-db-secret, key uri)",
            "artifacts  s3://my-bucket/mlflow (proxied by the server)",
            "Schema     at ",
        ],
    );
    let json_out = status(&ns, &["-o", "json"]);
    for secret in ["kmlf-real-node-pg", "kmlf-real-node-s3-secret", "mlflow:kmlf"] {
        assert_never_shown(&out, secret);
        assert_never_shown(&json_out, secret);
    }
    let doc: Value = serde_json::from_slice(&json_out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&json_out)));
    assert_eq!(
        doc["stores"]["backend"]["described"],
        json!({"kind": "postgresql", "host": "postgres", "port": 5432, "database": "mlflow"})
    );
    assert_eq!(doc["schema"]["state"], "current", "{doc:#}");
    ns.delete().await;
}
