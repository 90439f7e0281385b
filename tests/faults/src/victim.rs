//! A plugin run as a process and SIGKILLed at a kill point. Points are counted in the command's
//! own writes as the API server's audit log records them (user agent `kubectl-mlflow/…`, the
//! case's namespace, no dry runs): the Nth write as it arrives (the request is in flight when
//! the process dies) or once it was answered (the process dies before its next step), or a few
//! seconds after its last write (while it waits).

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kubectl_mlflow_test_support::audit::{AuditLog, Filter, Nth, Stage, Write};
use kubectl_mlflow_test_support::{cluster, plugin_bin, repo_root, TestNamespace};

/// Where a command is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// At its Nth write (1-based), in flight or answered.
    Write(usize, Stage),
    /// This many seconds after its last write was answered (it waits for something).
    Waiting(u64),
}

impl Point {
    /// Every point of a command that makes `writes` writes (and then waits: killed `waits`
    /// seconds into it).
    pub fn all(writes: usize, waits: &[u64]) -> Vec<Point> {
        let mut points: Vec<Point> =
            (1..=writes).flat_map(|n| [Point::Write(n, Stage::Received), Point::Write(n, Stage::Completed)]).collect();
        points.extend(waits.iter().map(|&s| Point::Waiting(s)));
        points
    }

    pub fn describe(&self) -> String {
        match self {
            Point::Write(n, Stage::Received) => format!("write {n} in flight"),
            Point::Write(n, Stage::Completed) => format!("write {n} answered"),
            Point::Waiting(s) => format!("{s} s after the last write"),
        }
    }
}

/// A plugin command line: the binary and its arguments (the cluster flags are added).
#[derive(Debug, Clone)]
pub struct Plugin {
    pub binary: &'static str,
    pub args: Vec<String>,
}

impl Plugin {
    pub fn new(binary: &'static str, args: &[&str]) -> Plugin {
        Plugin { binary, args: args.iter().map(|s| s.to_string()).collect() }
    }

    /// `kubectl-mlflow-install …`
    pub fn describe(&self) -> String {
        format!("{} {}", self.binary, self.args.join(" "))
    }

    /// The process, in the repository root, with `--kubeconfig … -n NS` last.
    pub fn command(&self, ns: &TestNamespace) -> Command {
        self.command_as(ns, cluster().kubeconfig())
    }

    /// [`Plugin::command`] with another kubeconfig (another user).
    pub fn command_as(&self, ns: &TestNamespace, kubeconfig: &std::path::Path) -> Command {
        let mut cmd = Command::new(plugin_bin(self.binary));
        cmd.current_dir(repo_root())
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_KUBECONTEXT")
            .args(&self.args)
            .args(["--kubeconfig", &kubeconfig.display().to_string(), "-n", ns.name()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs to its end.
    pub fn run(&self, ns: &TestNamespace) -> Output {
        self.command(ns).output().unwrap_or_else(|e| panic!("run {}: {e}", self.binary))
    }

    /// Runs to its end; returns the writes it made, in the order they were answered.
    pub fn run_counting(&self, ns: &TestNamespace) -> (Output, Vec<Write>) {
        let log = audit();
        let from = log.end();
        let out = self.run(ns);
        (out, log.writes(from, &Filter::plugins_in(ns.name())))
    }

    /// Runs and SIGKILLs it at `point`. When the command ends before the point is reached, it
    /// was not killed (`killed_at` is `None`).
    pub fn run_killed_at(&self, ns: &TestNamespace, point: Point) -> Killed {
        let log = audit();
        let from = log.end();
        let child =
            Arc::new(Mutex::new(self.command(ns).spawn().unwrap_or_else(|e| panic!("run {}: {e}", self.binary))));
        let (stdout, stderr) = drain(&child);
        let ended = Arc::new(AtomicBool::new(false));
        let killer = {
            let (child, ended, filter) = (child.clone(), ended.clone(), Filter::plugins_in(ns.name()));
            std::thread::spawn(move || kill_at(&log, from, &filter, point, &child, &ended))
        };
        let status = loop {
            if let Some(status) = child.lock().unwrap().try_wait().expect("wait for the plugin") {
                break status;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        ended.store(true, Ordering::SeqCst);
        let killed_at = killer.join().expect("the killer thread");
        let output = Output { status, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() };
        Killed { killed_at, output }
    }
}

/// What a killed run did.
#[derive(Debug)]
pub struct Killed {
    /// The write that was the kill point (for [`Point::Waiting`], the last write), when killed.
    pub killed_at: Option<Write>,
    pub output: Output,
}

fn audit() -> AuditLog {
    cluster().audit_log().expect("the cluster's audit log (scripts/test-cluster up --audit-policy …)")
}

/// The child's stdout and stderr, read to their ends by two threads.
fn drain(child: &Arc<Mutex<Child>>) -> (std::thread::JoinHandle<Vec<u8>>, std::thread::JoinHandle<Vec<u8>>) {
    let mut guard = child.lock().unwrap();
    let mut out = guard.stdout.take().expect("piped stdout");
    let mut err = guard.stderr.take().expect("piped stderr");
    let read_all = |r: &mut dyn Read| {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    };
    (std::thread::spawn(move || read_all(&mut out)), std::thread::spawn(move || read_all(&mut err)))
}

/// Follows the audit log and SIGKILLs the child at the point (`Child::kill` of a child already
/// reaped signals nothing, so a reused pid is never hit).
fn kill_at(
    log: &AuditLog,
    from: u64,
    filter: &Filter,
    point: Point,
    child: &Mutex<Child>,
    ended: &AtomicBool,
) -> Option<Write> {
    let limit = Duration::from_secs(600);
    let give_up = || ended.load(Ordering::SeqCst);
    let kill = || {
        let _ = child.lock().unwrap().kill();
    };
    match point {
        Point::Write(n, stage) => log.on_nth_write(&Nth { from, filter, n, stage, limit }, give_up, kill),
        Point::Waiting(seconds) => {
            // the last write is the one after which nothing is written for `seconds`
            let (mut last, mut seen) = (None, 0);
            loop {
                let quiet = if seen == 0 { limit } else { Duration::from_secs(seconds) };
                let nth = Nth { from, filter, n: seen + 1, stage: Stage::Completed, limit: quiet };
                match log.on_nth_write(&nth, give_up, || {}) {
                    Some(write) => {
                        last = Some(write);
                        seen += 1;
                    }
                    None if seen == 0 || ended.load(Ordering::SeqCst) => return None,
                    None => {
                        kill();
                        return last;
                    }
                }
            }
        }
    }
}
