//! The check run as a process, as users run it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kubectl_mlflow_test_support::cluster;

/// `kubectl-mlflow-check ARGS --kubeconfig <the test cluster's> -n NS`, to its end.
pub fn check(namespace: &str, args: &[&str]) -> Output {
    command(namespace, args).stdin(Stdio::null()).output().expect("run kubectl-mlflow-check")
}

/// The command, not yet started.
pub fn command(namespace: &str, args: &[&str]) -> Command {
    command_with(&cluster().kubeconfig().display().to_string(), namespace, args)
}

/// The command with another kubeconfig.
pub fn command_with(kubeconfig: &str, namespace: &str, args: &[&str]) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("kubectl-mlflow-check"));
    command.env_remove("HELM_NAMESPACE").env_remove("HELM_KUBECONTEXT").env("NO_COLOR", "1").args(args).args([
        "--kubeconfig",
        kubeconfig,
        "-n",
        namespace,
    ]);
    command
}

/// stdout and stderr, for assertion messages.
pub fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Panics with the output unless the check exited with `code`.
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
    assert!(!stderr(out).contains("panicked"), "{}", text(out));
}

/// A check running in the background, its stdout and stderr collected as they come.
pub struct Running {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    pub fn start(namespace: &str, args: &[&str]) -> Running {
        let mut child = command(namespace, args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kubectl-mlflow-check");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Running { child, stdout, stderr }
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (at most `timeout`) until stdout holds `needle`.
    pub fn wait_stdout(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.stdout().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{needle:?} not on the check's stdout within {timeout:?}:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        let sent = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success());
    }

    /// Waits (at most `timeout`) for the end: the exit code.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // the readers catch up with the last lines
                std::thread::sleep(Duration::from_millis(100));
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "the check did not end within {timeout:?}:\n{}\n{}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(pipe: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    text
}
