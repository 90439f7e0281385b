//! The users' asks (issue 33) with MLflow's own image and real bytes on the real node: a database
//! that comes up after the release, basic auth on PostgreSQL with its URI from a Secret, and a
//! sized /tmp. Run alone with
//! `cargo test -p kubectl-mlflow-real-node-tests --test it -- --ignored --nocapture waits_and_limits::`
//! after `scripts/test-cluster up --real` and building the plugins, as production:: says.

use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use kubectl_mlflow_test_support::stores::{store_secrets, DB_URI};
use kubectl_mlflow_test_support::{
    assert_ok, cluster, mlflow_client, mlflow_python, real_namespace, repo_root, text, TestNamespace,
};

use crate::production::{
    logged_objects, psql, ready_servers, run_in_bucket, Steps, EXAMPLE, FORWARD_TIMEOUT, ONE_WORKER, SERVICE,
};

/// The migration Job of the release `mlflow` (its pods carry `job-name`).
const JOB: &str = "mlflow-mlflow-migrate";
/// Its first step, which waits for the database.
const WAIT_STEP: &str = "wait-for-database";
/// The database password of tests/real-node/manifests/postgres.yaml, which no output may show.
const DB_PASSWORD: &str = "kmlf-real-node-pg";
/// A user the admin creates, and its password (a test fixture).
const USER: (&str, &str) = ("kmlf-user", "kmlf-user-password-1");
/// The /tmp of the first install, and of the upgrade: a 24 MiB upload fits only the second.
const SMALL_TMP: &str = "tmp.sizeLimit=16Mi";
const LARGER_TMP: &str = "tmp.sizeLimit=64Mi";
const LARGE_MIB: &str = "24";

/// What the test saw of the migration Job's pods while an install ran: the wait step's log, and
/// the exit codes of each step that ended (`wait-for-database`, `migrate`, `migrate-auth`).
#[derive(Default)]
struct JobSeen {
    wait_log: String,
    ended: Vec<(String, i64)>,
}

/// Watches the migration Job's pods (`kubectl get pods --watch`: the succeeded Job is deleted by
/// the install at once, so its pods' last states are only seen as they change) and polls the
/// wait step's log every second, until finished.
struct JobWatch {
    seen: Arc<Mutex<JobSeen>>,
    stop: Arc<AtomicBool>,
    watch: Child,
    threads: Vec<JoinHandle<()>>,
}

impl JobWatch {
    fn start(ns: &TestNamespace) -> JobWatch {
        let (seen, stop) = (Arc::new(Mutex::new(JobSeen::default())), Arc::new(AtomicBool::new(false)));
        let selector = format!("job-name={JOB}");
        // (`-o json`: kubectl's jsonpath printer fails on the second object of a watch)
        let mut watch = cluster()
            .kubectl()
            .args(["get", "pods", "-n", ns.name(), "-l", &selector, "--watch", "-o", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kubectl get pods --watch");
        let stdout = watch.stdout.take().unwrap();
        let s = seen.clone();
        let reader = std::thread::spawn(move || {
            for pod in serde_json::Deserializer::from_reader(stdout).into_iter::<Value>().map_while(Result::ok) {
                let status = &pod["status"];
                let steps = ["initContainerStatuses", "containerStatuses"]
                    .iter()
                    .flat_map(|k| status[k].as_array().cloned().unwrap_or_default());
                for step in steps {
                    let (Some(name), Some(code)) =
                        (step["name"].as_str(), step["state"]["terminated"]["exitCode"].as_i64())
                    else {
                        continue;
                    };
                    let mut seen = s.lock().unwrap();
                    if !seen.ended.iter().any(|(n, _)| n == name) {
                        seen.ended.push((name.to_string(), code));
                    }
                }
            }
        });
        let (namespace, s, st) = (ns.name().to_string(), seen.clone(), stop.clone());
        let logs = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                let log = cluster().kubectl_output(&["logs", "-n", &namespace, "-l", &selector, "-c", WAIT_STEP]);
                if let Ok(log) = log {
                    let mut seen = s.lock().unwrap();
                    if log.len() > seen.wait_log.len() {
                        seen.wait_log = log;
                    }
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        JobWatch { seen, stop, watch, threads: vec![reader, logs] }
    }

    fn wait_log(&self) -> String {
        self.seen.lock().unwrap().wait_log.clone()
    }

    /// Stops watching (after the last pod events arrived); returns the wait's log and the steps
    /// seen ended, with their exit codes.
    fn finish(mut self) -> (String, Vec<(String, i64)>) {
        std::thread::sleep(Duration::from_secs(2));
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.watch.kill();
        let _ = self.watch.wait();
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
        let seen = self.seen.lock().unwrap();
        (seen.wait_log.clone(), seen.ended.clone())
    }
}

impl Drop for JobWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.watch.kill();
        let _ = self.watch.wait();
    }
}

/// Applies PostgreSQL 60 s after `start`, once the Job's wait has said what it waits for (or
/// after 60 s anyway); returns when it applied.
fn postgres_late(ns: &TestNamespace, watch_log: impl Fn() -> String + Send + 'static) -> JoinHandle<Instant> {
    let namespace = ns.name().to_string();
    let file = repo_root().join("tests/real-node/manifests/postgres.yaml").display().to_string();
    let start = Instant::now();
    std::thread::spawn(move || {
        while start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_secs(1));
        }
        eprintln!("waits_and_limits: applying PostgreSQL; the wait said so far: {}", watch_log().trim());
        cluster().kubectl_stdout(&["apply", "-n", &namespace, "-f", &file]);
        Instant::now()
    })
}

/// The install's values: the production example on one worker, basic auth on PostgreSQL with
/// its URI and Flask key from Secrets, a tmpfs /tmp of `tmp`.
fn values<'a>(s3_values: &'a str, tmp: &'a str) -> Vec<&'a str> {
    vec![
        "--timeout",
        "10m",
        "-f",
        EXAMPLE,
        "-f",
        s3_values,
        "--set",
        ONE_WORKER,
        "--set",
        "replicaCount=1",
        "--set",
        "server.value_options.app_name=basic-auth",
        "--set",
        "envFrom[0].secretRef.name=mlflow-flask",
        "--set",
        "auth.databaseUriFrom.secretKeyRef.name=mlflow-auth-db",
        "--set",
        "auth.databaseUriFrom.secretKeyRef.key=uri",
        "--set",
        "migrations.waitTimeout=5m",
        "--set",
        tmp,
        "--set",
        "tmp.medium=Memory",
    ]
}

/// Asserts the install succeeded with nothing secret in its output, and that the migration Job
/// ran each of its steps to exit code 0 (the auth database's before the server started: the
/// native engine applies the Deployment after the Job succeeded).
fn assert_installed(out: &Output, ended: &[(String, i64)]) {
    assert_ok(out);
    assert!(!text(out).contains(DB_PASSWORD), "the database password reached the output");
    for step in ["wait-for-database", "migrate", "migrate-auth"] {
        assert!(
            ended.iter().any(|(name, code)| name == step && *code == 0),
            "the migration Job's step {step} was not seen ending with 0: {ended:?}"
        );
    }
}

/// The MLflow client (tests/contract/client.py) without retries; returns its output.
fn client_output(url: &str, login: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(mlflow_python())
        .arg(repo_root().join("tests/contract/client.py"))
        .args(args)
        .env("MLFLOW_TRACKING_URI", url.trim_end_matches('/'))
        .env("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .envs(login.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The admin creates [`USER`] through MLflow's auth REST API.
fn create_user(url: &str, admin: &[(&str, &str)]) {
    let script = "import sys\nfrom mlflow.server.auth.client import AuthServiceClient\n\
        AuthServiceClient(sys.argv[1]).create_user(sys.argv[2], sys.argv[3])\n";
    let out = Command::new(mlflow_python())
        .args(["-c", script, url, USER.0, USER.1])
        .envs(admin.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ok(&out);
}

fn login<'a>(user: &'a str, password: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("MLFLOW_TRACKING_USERNAME", user),
        ("MLFLOW_TRACKING_PASSWORD", password),
        ("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false"),
        ("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "false"),
    ]
}

fn describe_pod(ns: &TestNamespace, pod: &str) -> String {
    cluster().kubectl_output(&["describe", "pod", pod, "-n", ns.name()]).unwrap_or_else(|e| e)
}

fn restarts(ns: &TestNamespace, pod: &str) -> String {
    cluster().kubectl_stdout(&[
        "get",
        "pod",
        pod,
        "-n",
        ns.name(),
        "-o",
        "jsonpath={.status.containerStatuses[?(@.name==\"mlflow\")].restartCount}",
    ])
}

/// PostgreSQL comes up a minute after the install started: the migration Job's first step waits
/// for it (`migrations.waitTimeout`), saying what it waits for, and the install succeeds. Basic
/// auth keeps its users in PostgreSQL, the URI read from a Secret (`auth.databaseUriFrom`: an init
/// container writes MLflow's ini; the Job migrates the auth database before the server starts).
/// /tmp is a 16Mi tmpfs (`tmp.sizeLimit`, `tmp.medium: Memory`): a 5 MiB artifact passes through it
/// to S3, a 24 MiB one fails with the server's error while the pod keeps serving, not restarted.
/// An upgrade to a 64Mi /tmp keeps the user the admin made, who logs in, and the 24 MiB artifact
/// passes.
#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn a_late_database_basic_auth_from_a_secret_and_a_sized_tmp() {
    let mut steps = Steps::new();
    let ns = real_namespace("real-asks").await;
    let manifests = repo_root().join("tests/real-node/manifests");
    cluster().kubectl_stdout(&["apply", "-n", ns.name(), "-f", &manifests.join("s3.yaml").display().to_string()]);
    let s3_values = store_secrets(&ns).display().to_string();
    ns.create_secret("mlflow-auth-db", &[("uri", DB_URI)]).await;
    ns.create_secret("mlflow-flask", &[("MLFLOW_FLASK_SERVER_SECRET_KEY", "kmlf-real-node-flask-secret-key")]).await;

    let watch = Arc::new(JobWatch::start(&ns));
    let late = {
        let watch = watch.clone();
        postgres_late(&ns, move || watch.wait_log())
    };
    let out = ns.run("kubectl-mlflow-install", &values(&s3_values, SMALL_TMP));
    let installed = Instant::now();
    let applied = late.join().unwrap();
    let (wait_log, ended) = Arc::into_inner(watch).expect("the applying thread is done").finish();
    assert!(applied < installed, "PostgreSQL was applied after the install ended:\n{}", text(&out));
    assert_installed(&out, &ended);
    assert!(
        wait_log.contains(
            "waiting for postgresql at postgres:5432 (MLFLOW_BACKEND_STORE_URI) to accept a login, at most 5m"
        ),
        "the Job's wait did not say what it waits for:\n{wait_log}"
    );
    assert!(wait_log.contains("postgresql at postgres:5432 accepts a login"), "{wait_log}");
    assert!(!wait_log.contains(DB_PASSWORD), "the wait's log shows the password:\n{wait_log}");
    steps.done("install with PostgreSQL applied 60 s after it started");

    let server = ready_servers(&ns, 1).await.remove(0);
    let ini = cluster().kubectl_stdout(&[
        "exec",
        "-n",
        ns.name(),
        &server,
        "-c",
        "mlflow",
        "--",
        "python",
        "-c",
        "import configparser; c = configparser.ConfigParser(); c.read('/etc/mlflow/auth/basic_auth.ini'); \
         print(c['mlflow']['database_uri'] == 'postgresql://mlflow:kmlf-real-node-pg@postgres:5432/mlflow')",
    ]);
    assert_eq!(ini.trim(), "True", "MLflow does not read the Secret's URI from its ini");
    assert_eq!(psql(&ns, "SELECT username FROM users"), "admin", "no admin user in the auth database");

    let password = ns.secret_value("mlflow-mlflow-auth", "admin-password").await.expect("the generated password");
    let admin = login("admin", &password);
    let pf = cluster().port_forward(ns.name(), SERVICE, 5000, FORWARD_TIMEOUT);
    create_user(&pf.url(), &admin);
    let small = mlflow_client(&pf.url(), &admin, &["roundtrip", "--blob-mib", "5"]);
    assert_eq!(run_in_bucket(&ns, &small), logged_objects());
    steps.done("a user made; a 5 MiB artifact through the 16Mi /tmp to S3");
    let large = client_output(&pf.url(), &admin, &["roundtrip", "--blob-mib", LARGE_MIB]);
    // (kubectl port-forward may end with the connection the server closed mid-upload)
    drop(pf);
    let said = text(&large);
    let log = cluster().kubectl_stdout(&["logs", "-n", ns.name(), &server, "-c", "mlflow"]);
    assert!(!large.status.success(), "a 24 MiB upload passed a 16Mi /tmp:\n{said}");
    assert_eq!(restarts(&ns, &server), "0", "the server restarted:\n{log}\n{}", describe_pod(&ns, &server));
    assert!(log.contains("No space left on device"), "the server's log does not say why:\n{log}\nthe client:\n{said}");
    let refused = log.lines().any(|l| l.contains("PUT /api/2.0/mlflow-artifacts/artifacts/") && l.contains("\" 500"));
    assert!(
        refused || said.contains("500"),
        "the upload was not answered with MLflow's error:\n{log}\nthe client:\n{said}"
    );
    let pf = cluster().port_forward(ns.name(), SERVICE, 5000, FORWARD_TIMEOUT);
    let again = mlflow_client(&pf.url(), &admin, &["roundtrip", "--blob-mib", "5"]);
    assert_eq!(run_in_bucket(&ns, &again), logged_objects());
    drop(pf);
    steps.done("a 24 MiB artifact refused with the server's error; the pod still serves, not restarted");

    let watch = JobWatch::start(&ns);
    let out = ns.run("kubectl-mlflow-install", &values(&s3_values, LARGER_TMP));
    let (_, ended) = watch.finish();
    assert_installed(&out, &ended);
    let upgraded = ready_servers(&ns, 1).await.remove(0);
    assert_ne!(upgraded, server, "the upgrade did not roll the server out");
    assert_eq!(psql(&ns, "SELECT username FROM users ORDER BY username"), format!("admin\n{}", USER.0));
    let pf = cluster().port_forward(ns.name(), SERVICE, 5000, FORWARD_TIMEOUT);
    let as_user = mlflow_client(&pf.url(), &login(USER.0, USER.1), &["roundtrip"]);
    assert_eq!(run_in_bucket(&ns, &as_user), vec!["notes/hello.txt 18"]);
    let large = mlflow_client(&pf.url(), &admin, &["roundtrip", "--blob-mib", LARGE_MIB]);
    let blob = format!("data/blob.bin {}", 24 * 1024 * 1024);
    assert_eq!(run_in_bucket(&ns, &large), vec![blob, "notes/hello.txt 18".to_string()]);
    drop(pf);
    steps.done("upgrade to a 64Mi /tmp: the user logs in, the 24 MiB artifact passes");
    let _ = std::fs::remove_file(&s3_values);
    ns.delete().await;
    steps.done("namespace deleted");
}
