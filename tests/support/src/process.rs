//! The plugins run as processes, as a user runs them, and what their output must show.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{plugin_bin, repo_root};

/// What helm sets for the plugins it runs: left out, so that a test run under `helm` (or with
/// these in the user's environment) runs the plugins as kubectl does.
const HELM_PLUGIN_ENV: [&str; 4] = ["HELM_NAMESPACE", "HELM_KUBECONTEXT", "HELM_PLUGIN_NAME", "HELM_BIN"];

/// The plugin binary `name` of the workspace (see [`plugin_bin`]), run from the repository root
/// without helm's plugin environment.
pub fn plugin(name: &str) -> assert_cmd::Command {
    assert_cmd::Command::from_std(plugin_command(name))
}

/// [`plugin`] as a `std::process::Command`, to spawn.
pub fn plugin_command(name: &str) -> Command {
    let mut cmd = Command::new(plugin_bin(name));
    cmd.current_dir(repo_root());
    for var in HELM_PLUGIN_ENV {
        cmd.env_remove(var);
    }
    cmd
}

/// [`plugin`] with no cluster to reach (`KUBECONFIG=/nonexistent/kubeconfig`) and help text
/// wrapped at 100 columns: what the CLI tests run.
pub fn offline_plugin(name: &str) -> assert_cmd::Command {
    let mut cmd = plugin(name);
    cmd.env("COLUMNS", "100").env("KUBECONFIG", "/nonexistent/kubeconfig");
    cmd
}

/// A process's exit code, stdout and stderr, for a failure message.
pub fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Panics with the output unless the process succeeded.
pub fn assert_ok(output: &Output) {
    assert!(output.status.success(), "failed: {}", text(output));
}

/// Asserts the exit code and that stdout or stderr holds `expected`.
pub fn assert_code(output: &Output, code: i32, expected: &str) {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
    assert!(text(output).contains(expected), "expected {expected:?} in {}", text(output));
}

/// Asserts a command was refused as bad input: exit code 2, nothing on stdout, each of
/// `expected` on stderr (`what` names the case in a failure).
pub fn assert_bad_input(output: &Output, what: &str, expected: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{what}\nstderr: {stderr}");
    assert!(output.stdout.is_empty(), "{what} printed to stdout: {}", String::from_utf8_lossy(&output.stdout));
    for text in expected {
        assert!(stderr.contains(text), "{what}: expected {text:?} in:\n{stderr}");
    }
}

/// Asserts a command was refused as bad input: exit code 2, nothing on stdout, no panic, and
/// exactly one `error:` line, which mentions `topic`.
pub fn assert_refused_in_one_line(out: &Output, topic: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "printed to stdout; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(topic), "{stderr}");
}

/// A process running in the background, its stdout and stderr collected line by line as they
/// come; killed on drop.
pub struct Running {
    child: Child,
    pub stdout: Lines,
    pub stderr: Lines,
    readers: Vec<JoinHandle<()>>,
}

/// The lines a running process printed on one stream so far.
#[derive(Clone, Default)]
pub struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn collect(stream: impl Read + Send + 'static) -> (Lines, JoinHandle<()>) {
        let lines = Lines::default();
        let sink = lines.0.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        (lines, reader)
    }

    /// Every line so far.
    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Every line so far, joined.
    pub fn text(&self) -> String {
        self.all().join("\n")
    }

    /// Waits (at most `timeout`) until a line holds `needle`; everything printed so far.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for_any(&[needle], timeout)
    }

    /// Waits (at most `timeout`) until a line holds one of `needles`; everything printed so far.
    pub fn wait_for_any(&self, needles: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.text();
            if needles.iter().any(|needle| text.contains(needle)) {
                return text;
            }
            assert!(Instant::now() < deadline, "none of {needles:?} printed within {timeout:?}; so far:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (at most `timeout`) for the first line, then takes the lines that follow at once
    /// (within 300 ms of each other): what a process prints when it is ready, say.
    pub fn first_burst(&self, timeout: Duration) -> Option<Vec<String>> {
        let deadline = Instant::now() + timeout;
        while self.0.lock().unwrap().is_empty() {
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut count = 0;
        while self.0.lock().unwrap().len() > count {
            count = self.0.lock().unwrap().len();
            std::thread::sleep(Duration::from_millis(300));
        }
        Some(self.all())
    }
}

impl Running {
    /// Starts `cmd` (its stdin empty).
    pub fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
        let (stdout, out_reader) = Lines::collect(child.stdout.take().expect("piped stdout"));
        let (stderr, err_reader) = Lines::collect(child.stderr.take().expect("piped stderr"));
        Running { child, stdout, stderr, readers: vec![out_reader, err_reader] }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) {
        let status = Command::new("kill").args(["-INT", &self.pid().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -INT {}", self.pid());
    }

    /// Waits (at most `timeout`) for the process to end; its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "the process did not end within {timeout:?}; stderr so far:\n{}",
                self.stderr.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (at most `timeout`) for the end: the exit code, stdout and stderr.
    pub fn end(mut self, timeout: Duration) -> (Option<i32>, String, String) {
        let code = self.wait_exit(timeout);
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        (code, self.stdout.text(), self.stderr.text())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
