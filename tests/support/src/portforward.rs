//! `kubectl mlflow portforward` running in the background: its URLs, its stderr as it comes.

use std::net::SocketAddr;
use std::time::Duration;

use crate::process::{plugin_command, Running};
use crate::TestNamespace;

/// `kubectl-mlflow-portforward` running in the background on a test's namespace; killed on drop.
pub struct ForwardPlugin {
    running: Running,
    /// The URLs it printed on stdout, one per local address.
    pub urls: Vec<String>,
}

impl ForwardPlugin {
    /// Starts the plugin with `args` (and environment `env`) and waits (at most `timeout`) for
    /// its URLs on stdout.
    pub fn start(ns: &TestNamespace, args: &[&str], env: &[(&str, &str)], timeout: Duration) -> ForwardPlugin {
        let mut command = plugin_command("kubectl-mlflow-portforward");
        command.args(ns.cluster_args()).args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        let running = Running::start(command);
        match running.stdout.first_burst(timeout) {
            Some(urls) => ForwardPlugin { running, urls },
            None => panic!("the plugin printed no URL within {timeout:?}; stderr:\n{}", running.stderr.text()),
        }
    }

    /// Its stderr so far.
    pub fn stderr(&self) -> String {
        self.running.stderr.text()
    }

    /// The local address of the first URL.
    pub fn addr(&self) -> SocketAddr {
        address_of(&self.urls[0])
    }

    /// Waits (at most `timeout`) until stderr holds `needle`.
    pub fn wait_stderr(&self, needle: &str, timeout: Duration) -> String {
        self.running.stderr.wait_for(needle, timeout)
    }

    /// Waits (at most `timeout`) until stderr holds one of `needles`.
    pub fn wait_stderr_any(&self, needles: &[&str], timeout: Duration) -> String {
        self.running.stderr.wait_for_any(needles, timeout)
    }

    /// Ctrl-C.
    pub fn interrupt(&self) {
        self.running.interrupt();
    }

    /// Waits (at most `timeout`) for the plugin to end; its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        self.running.wait_exit(timeout)
    }
}

/// `127.0.0.1:5000` of `http://127.0.0.1:5000/prefix/`.
pub fn address_of(url: &str) -> SocketAddr {
    let rest = url.split("://").nth(1).unwrap_or(url);
    rest.split('/').next().unwrap().parse().unwrap_or_else(|e| panic!("no address in {url}: {e}"))
}
