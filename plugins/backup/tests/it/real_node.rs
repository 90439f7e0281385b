//! MLflow's real images on the real node (`scripts/test-cluster up --real`): the whole move from
//! the quick start to production and back, the SIGKILL of a restore, a target volume too small.
//! Listed through MLflow's REST API (tests/it/store.py, the MLflow client) before and after.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kubectl_mlflow_test_support::process::plugin_command;
use kubectl_mlflow_test_support::stores::{start_stores, store_secrets, S3_SECRET_KEY};
use kubectl_mlflow_test_support::{
    assert_ok, cluster, deployment_guide, mlflow_python, real_namespace, text, TestNamespace,
};
use serde_json::Value;

const SELECTOR: &str = "app.kubernetes.io/instance=mlflow";
const SERVICE: &str = "svc/mlflow-mlflow";
const ONE_WORKER: &str = "server.value_options.workers=1";
const EXAMPLE: &str = "charts/example-mlflow-charts.yaml";
const USER: &str = "alice:alice-password-123";

/// Wall time of each step, printed as they end (none is asserted).
struct Steps(Instant, Instant, &'static str);

impl Steps {
    fn new(name: &'static str) -> Self {
        Steps(Instant::now(), Instant::now(), name)
    }

    fn done(&mut self, what: &str) {
        eprintln!(
            "{}: {what}: {:.1} s (total {:.1} s)",
            self.2,
            self.1.elapsed().as_secs_f64(),
            self.0.elapsed().as_secs_f64()
        );
        self.1 = Instant::now();
    }
}

fn install(ns: &TestNamespace, args: &[&str]) {
    let mut all = vec!["--timeout", "8m", "--set", ONE_WORKER];
    all.extend(args);
    assert_ok(&ns.run("kubectl-mlflow-install", &all));
    let deadline = Instant::now() + Duration::from_secs(480);
    while Instant::now() < deadline {
        if ready_pods_blocking(ns) == 1 {
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    panic!("no Ready server in {}: {}", ns.name(), cluster().kubectl_stdout(&["get", "pods,events", "-n", ns.name()]));
}

fn ready_pods_blocking(ns: &TestNamespace) -> usize {
    let out = cluster().kubectl_stdout(&[
        "get",
        "pods",
        "-n",
        ns.name(),
        "-l",
        SELECTOR,
        "-o",
        "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}",
    ]);
    out.lines().filter(|l| l.trim() == "True").count()
}

/// The quick start with basic auth (the deployment guide's Secret with the CSRF key).
fn quick_start(ns: &TestNamespace, extra: &[&str]) {
    cluster().shell(&deployment_guide::auth_secret(ns.name())).unwrap();
    install(ns, &[&["-f", "tests/values/basic-auth.yaml"], extra].concat());
}

/// PostgreSQL and S3 (tests/real-node/manifests), the Secrets by `kubectl mlflow secrets`, and
/// the production example with basic auth (users on the release's volume).
fn production(ns: &TestNamespace, dir: &Path) {
    start_stores(ns);
    let s3_values = store_secrets(ns);
    cluster().shell(&deployment_guide::auth_secret(ns.name())).unwrap();
    let auth_env = format!(
        "kubectl create secret generic auth-env -n {} --from-literal=MLFLOW_FLASK_SERVER_SECRET_KEY=kmlf-flask-secret-key",
        ns.name()
    );
    cluster().shell(&auth_env).unwrap();
    let auth_values = dir.join(format!("{}-auth.yaml", ns.name()));
    std::fs::write(
        &auth_values,
        "server:\n  value_options:\n    app_name: basic-auth\nstorage:\n  enabled: true\nenvFrom:\n  - secretRef:\n      name: auth-env\n",
    )
    .unwrap();
    let (s3_values, auth_values) = (s3_values.display().to_string(), auth_values.display().to_string());
    install(ns, &[&["-f", EXAMPLE, "-f", &s3_values, "-f", &auth_values], &SIZING[..]].concat());
}

/// The data's move is under test, not the example's sizing: a smaller CPU request leaves room
/// beside the other tests on the node.
const SIZING: [&str; 2] = ["--set", "resources.requests.cpu=200m"];

/// PostgreSQL, S3, their Secrets and the production example as it is, without basic auth: MLflow
/// 3.12.0 reads the admin's password only from its ini file, not from MLFLOW_AUTH_ADMIN_PASSWORD
/// as the chart gives it.
fn production_without_auth(ns: &TestNamespace, extra: &[&str]) {
    start_stores(ns);
    let s3_values = store_secrets(ns).display().to_string();
    install(ns, &[&["-f", EXAMPLE, "-f", &s3_values], &SIZING[..], extra].concat());
}

/// The admin's password, or nothing for a release without basic auth (no such Secret).
fn admin_password(ns: &TestNamespace) -> String {
    let Ok(out) = cluster().kubectl_output(&[
        "get",
        "secret",
        "-n",
        ns.name(),
        "mlflow-mlflow-auth",
        "-o",
        "jsonpath={.data.admin-password}",
    ]) else {
        return String::new();
    };
    let decoded =
        Command::new("base64").arg("-d").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(out.trim().as_bytes())?;
            c.wait_with_output()
        });
    String::from_utf8(decoded.unwrap().stdout).unwrap()
}

/// `tests/it/store.py ARGS` against the release (a port-forward to its Service), as admin.
fn store(ns: &TestNamespace, args: &[&str]) -> Value {
    let pf = cluster().port_forward(ns.name(), SERVICE, 5000, Duration::from_secs(60));
    let password = admin_password(ns);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/store.py");
    let mut cmd = Command::new(mlflow_python());
    cmd.arg(script)
        .args(args)
        .env("MLFLOW_TRACKING_URI", pf.url())
        .env("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
        // no telemetry thread left trying to reach the internet at exit
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "true")
        .env("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
        .env("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "false")
        .stdin(Stdio::null());
    if !password.is_empty() {
        cmd.env("MLFLOW_TRACKING_USERNAME", "admin").env("MLFLOW_TRACKING_PASSWORD", &password);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "store.py {args:?}: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn backup(ns: &TestNamespace, file: &Path) -> Output {
    ns.run("kubectl-mlflow-backup", &["-o", &file.display().to_string()])
}

fn restore(ns: &TestNamespace, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec![file.to_str().unwrap()];
    args.extend(extra);
    ns.run("kubectl-mlflow-restore", &args)
}

fn no_secret_printed(out: &Output) {
    let all = text(out);
    for secret in ["kmlf-real-node-pg", S3_SECRET_KEY, "alice-password-123", "kmlf-flask-secret-key"] {
        assert!(!all.contains(secret), "a secret was printed: {all}");
    }
}

/// What the dump compares: everything but the experiments' artifact locations, which the
/// restore rewrites to the target's store.
fn comparable(mut dump: Value) -> Value {
    for exp in dump["experiments"].as_array_mut().unwrap() {
        exp.as_object_mut().unwrap().remove("artifact_location");
        for run in exp["runs"].as_array_mut().unwrap() {
            run.as_object_mut().unwrap().remove("artifact_uri");
        }
    }
    dump
}

fn assert_same(before: &Value, after: &Value, what: &str) {
    let (before, after) = (comparable(before.clone()), comparable(after.clone()));
    if before != after {
        let dir = std::env::temp_dir();
        std::fs::write(dir.join("kmlf-before.json"), serde_json::to_string_pretty(&before).unwrap()).unwrap();
        std::fs::write(dir.join("kmlf-after.json"), serde_json::to_string_pretty(&after).unwrap()).unwrap();
        panic!("{what}: the restored store differs (see {}/kmlf-before.json and kmlf-after.json)", dir.display());
    }
}

fn runs_of(dump: &Value) -> usize {
    dump["experiments"].as_array().unwrap().iter().map(|e| e["runs"].as_array().unwrap().len()).sum()
}

fn traces_of(dump: &Value) -> usize {
    dump["experiments"].as_array().unwrap().iter().map(|e| e["traces"].as_array().map_or(0, Vec::len)).sum()
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_quick_start_moves_to_production_and_back_with_every_id_value_and_user() {
    let mut steps = Steps::new("move");
    let dir = tempfile::tempdir().unwrap();
    let quick = real_namespace("bk-quick").await;
    quick_start(&quick, &[]);
    let made =
        store(&quick, &["populate", "--runs", "3", "--steps", "25", "--blob-mib", "5", "--user", USER, "--trace"]);
    let before = store(&quick, &["dump", "--traces"]);
    assert_eq!(runs_of(&before), 6);
    assert_eq!(before["models"][0]["versions"].as_array().unwrap().len(), 2);
    assert_eq!(traces_of(&before), 1, "{before}");
    steps.done("quick start with 6 runs, a model with two versions, a trace, a user");

    let archive = dir.path().join("quick.tar.gz");
    let out = backup(&quick, &archive);
    assert_ok(&out);
    no_secret_printed(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("6 runs"), "{}", text(&out));
    quick.delete().await;
    steps.done("backup of the quick start");

    let prod = real_namespace("bk-prod").await;
    production(&prod, dir.path());
    steps.done("production release (PostgreSQL + S3) Ready");
    let out = restore(&prod, &archive, &[]);
    assert_ok(&out);
    no_secret_printed(&out);
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(report.contains("checksums verified"), "{report}");
    let after = store(&prod, &["dump", "--traces"]);
    assert_same(&before, &after, "quick start → production");
    let seen = store(&prod, &["login", USER, made["experiments"][0].as_str().unwrap()]);
    assert_eq!(seen["experiment"], "backup-exp-0");
    steps.done("restored into production: same IDs, values, histories, artifacts; alice logs in");

    let again = restore(&prod, &archive, &[]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"), "{}", text(&again));
    steps.done("a second restore into the now non-empty release is refused");

    let from_prod = dir.path().join("prod.tar");
    assert_ok(&backup(&prod, &from_prod));
    prod.delete().await;
    let back = real_namespace("bk-back").await;
    quick_start(&back, &[]);
    assert_ok(&restore(&back, &from_prod, &[]));
    assert_same(&before, &store(&back, &["dump", "--traces"]), "production → quick start");
    store(&back, &["login", USER, made["experiments"][0].as_str().unwrap()]);
    back.delete().await;
    steps.done("PostgreSQL → SQLite: the same again");
}

/// Runs restore and SIGKILLs it once the worker has marked the target and bytes flow.
fn killed_restore(ns: &TestNamespace, file: &Path) -> String {
    let kubeconfig = cluster().kubeconfig().display().to_string();
    let mut child = plugin_command("kubectl-mlflow-restore")
        .args([file.to_str().unwrap(), "--kubeconfig", &kubeconfig, "-n", ns.name()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok) {
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("marked the target") {
            std::thread::sleep(Duration::from_millis(300));
            let _ = Command::new("kill").args(["-KILL", &child.id().to_string()]).status();
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "the restore ended before it was killed: {seen}");
    seen
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn a_killed_restore_is_refused_next_time_and_force_starts_again() {
    let mut steps = Steps::new("sigkill");
    let dir = tempfile::tempdir().unwrap();
    let source = real_namespace("bk-src").await;
    quick_start(&source, &[]);
    store(&source, &["populate", "--runs", "2", "--steps", "10", "--blob-mib", "48"]);
    let before = store(&source, &["dump"]);
    let archive = dir.path().join("big.tar.gz");
    assert_ok(&backup(&source, &archive));
    source.delete().await;
    steps.done("a quick start with 48 MiB of artifacts backed up");

    let target = real_namespace("bk-kill").await;
    quick_start(&target, &[]);
    let seen = killed_restore(&target, &archive);
    steps.done("restore SIGKILLed after the mark");
    let refused = restore(&target, &archive, &[]);
    assert_eq!(refused.status.code(), Some(2), "{seen}\n{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("holds an unfinished restore (of big.tar.gz"), "{err}");
    assert!(
        err.contains(&format!(
            "start again with: kubectl mlflow restore {} mlflow -n {} --force",
            archive.display(),
            target.name()
        )),
        "{err}"
    );
    let forced = restore(&target, &archive, &["--force"]);
    assert_ok(&forced);
    assert_same(&before, &store(&target, &["dump"]), "after --force");
    target.delete().await;
    steps.done("refused with the way to start again; --force restored it whole");
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn a_target_volume_too_small_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let source = real_namespace("bk-small-src").await;
    quick_start(&source, &[]);
    store(&source, &["populate", "--runs", "1", "--steps", "5", "--blob-mib", "4"]);
    let archive = dir.path().join("four.tar.gz");
    assert_ok(&backup(&source, &archive));
    source.delete().await;
    // Artifacts on a 2 MiB memory-backed volume: its file system says 2 MiB, as a full claim would.
    let target = real_namespace("bk-small").await;
    quick_start(
        &target,
        &[
            "--set",
            "mlflow.artifactsDestination=/small/artifacts",
            "--set",
            "extraVolumes[0].name=small",
            "--set",
            "extraVolumes[0].emptyDir.medium=Memory",
            "--set",
            "extraVolumes[0].emptyDir.sizeLimit=2Mi",
            "--set",
            "extraVolumeMounts[0].name=small",
            "--set",
            "extraVolumeMounts[0].mountPath=/small",
        ],
    );
    let empty = store(&target, &["dump"]);
    let out = restore(&target, &archive, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    // two experiments, a 4 MiB blob in the first run of each
    assert!(
        err.contains("the volume has 2.00 MiB free, the backup needs 8.00 MiB there (artifacts 8.00 MiB)"),
        "{err}"
    );
    assert_eq!(store(&target, &["dump"]), empty, "the refused restore changed the target");
    let marker = cluster().kubectl_stdout(&["get", "jobs", "-n", target.name(), "-o", "name"]);
    assert_eq!(marker.trim(), "", "the worker Job was left");
    target.delete().await;
}

const OLD2: &str = "v2.22.5-full";
const OLD3: &str = "v3.12.0-full";

/// `python3 -c SCRIPT` in the release's server pod.
fn in_server(ns: &TestNamespace, script: &str) -> String {
    cluster().kubectl_stdout(&["exec", "-n", ns.name(), "deploy/mlflow-mlflow", "--", "python3", "-c", script])
}

fn server_image(ns: &TestNamespace) -> String {
    cluster().kubectl_stdout(&[
        "get",
        "deploy/mlflow-mlflow",
        "-n",
        ns.name(),
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ])
}

/// What a 2.x and a 3.x server both serve alike: runs (params, metric histories, artifacts)
/// and the registered model's versions.
fn served(dump: &Value) -> Value {
    let runs: Vec<Value> = dump["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["runs"].as_array().unwrap().iter())
        .map(|r| serde_json::json!([r["id"], r["params"], r["metrics"], r["artifacts"]]))
        .collect();
    let versions: Vec<Value> = dump["models"][0]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| serde_json::json!([v["version"], v["run_id"], v["source"]]))
        .collect();
    serde_json::json!({"runs": runs, "versions": versions})
}

#[tokio::test]
#[ignore = "needs the real node and the older images: scripts/test-cluster up --real"]
async fn an_older_quick_start_upgrades_in_place_and_a_failed_migration_keeps_the_old_release() {
    let mut steps = Steps::new("upgrade-sqlite");
    let ns = real_namespace("bk-up2").await;
    install(&ns, &["-f", "tests/values/quickstart.yaml", "--set", &format!("image.tag={OLD2}")]);
    store(&ns, &["populate", "--runs", "2", "--steps", "10", "--blob-mib", "1"]);
    let before = served(&store(&ns, &["dump"]));
    steps.done("MLflow 2.22.5 quick start with runs, a model and artifacts");

    // A table a later migration makes: `mlflow db upgrade` fails half-way.
    in_server(&ns, "import sqlite3; c = sqlite3.connect('/mlflow/mlflow.db'); c.execute('CREATE TABLE webhooks (x INTEGER)'); c.commit()");
    let revision = in_server(&ns, "import sqlite3; print(sqlite3.connect('/mlflow/mlflow.db').execute('SELECT version_num FROM alembic_version').fetchone()[0])");
    let out =
        ns.run("kubectl-mlflow-install", &["--timeout", "8m", "--reuse-values", "--set", "image.tag=v3.17.2-full"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the copy taken before was put back, so the server was not rolled out and still runs ghcr.io/mlflow/mlflow:v2.22.5-full"), "{err}");
    assert_eq!(server_image(&ns), format!("ghcr.io/mlflow/mlflow:{OLD2}"));
    let after_failure = in_server(&ns, "import sqlite3; print(sqlite3.connect('/mlflow/mlflow.db').execute('SELECT version_num FROM alembic_version').fetchone()[0])");
    assert_eq!(after_failure, revision, "the database is not back at its revision");
    assert_eq!(served(&store(&ns, &["dump"])), before, "the old release lost data");
    steps.done("a failed migration: the copy put back, the 2.22.5 server serves everything");

    in_server(
        &ns,
        "import sqlite3; c = sqlite3.connect('/mlflow/mlflow.db'); c.execute('DROP TABLE webhooks'); c.commit()",
    );
    let out =
        ns.run("kubectl-mlflow-install", &["--timeout", "8m", "--reuse-values", "--set", "image.tag=v3.17.2-full"]);
    assert_ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("its copy from before is /mlflow/mlflow.db.{}.bak", revision.trim())), "{err}");
    assert!(err.contains("To roll back: kubectl exec"), "{err}");
    let deadline = Instant::now() + Duration::from_secs(300);
    while server_image(&ns) != "ghcr.io/mlflow/mlflow:v3.17.2-full" || ready_pods_blocking(&ns) != 1 {
        assert!(Instant::now() < deadline, "the 3.17.2 server is not Ready");
        std::thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(served(&store(&ns, &["dump"])), before, "the upgraded release lost data");
    ns.delete().await;
    steps.done("upgraded to 3.17.2 through the Job: everything still served");
}

#[tokio::test]
#[ignore = "needs the real node and the older images: scripts/test-cluster up --real"]
async fn an_older_postgresql_setup_upgrades_through_the_migration_job_and_refuses_a_newer_backup() {
    let mut steps = Steps::new("upgrade-postgres");
    let dir = tempfile::tempdir().unwrap();
    let ns = real_namespace("bk-up3").await;
    production_without_auth(&ns, &["--set", &format!("image.tag={OLD3}")]);
    store(&ns, &["populate", "--runs", "2", "--steps", "10", "--blob-mib", "1"]);
    let before = served(&store(&ns, &["dump"]));
    steps.done("MLflow 3.12.0 on PostgreSQL + S3 with runs, a model and artifacts");

    // A backup of 3.17.2 cannot go into this 3.12.0 release.
    let newer = real_namespace("bk-newer").await;
    quick_start(&newer, &[]);
    store(&newer, &["populate", "--runs", "1", "--steps", "2"]);
    let archive = dir.path().join("newer.tar.gz");
    assert_ok(&backup(&newer, &archive));
    newer.delete().await;
    let out = restore(&ns, &archive, &["--force"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the backup comes from MLflow 3.17.2"), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("runs MLflow 3.12.0"), "{}", text(&out));
    assert_eq!(served(&store(&ns, &["dump"])), before, "the refused restore changed the release");
    steps.done("a 3.17.2 backup into the 3.12.0 release is refused, nothing changed");

    let values = dir.path().join(format!("{}-upgrade.yaml", ns.name()));
    std::fs::write(&values, "image:\n  tag: v3.17.2-full\n").unwrap();
    let out =
        ns.run("kubectl-mlflow-install", &["--timeout", "8m", "--reuse-values", "-f", &values.display().to_string()]);
    assert_ok(&out);
    let deadline = Instant::now() + Duration::from_secs(300);
    while server_image(&ns) != "ghcr.io/mlflow/mlflow:v3.17.2-full" || ready_pods_blocking(&ns) != 1 {
        assert!(Instant::now() < deadline, "the 3.17.2 server is not Ready");
        std::thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(served(&store(&ns, &["dump"])), before, "the upgraded release lost data");
    ns.delete().await;
    steps.done("upgraded to 3.17.2 through the migration Job: everything still served");
}
