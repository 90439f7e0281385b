//! A browser signing in: Debian's headless Chromium (`/usr/bin/chromium`) driven by
//! `tests/sso/browser.mjs` over the DevTools protocol on a pipe (no package, any Node).

use std::path::{Path, PathBuf};
use std::process::Command;

use kubectl_mlflow_test_support::repo_root;
use serde_json::Value;

/// Where the screenshots are kept: `<target>/<profile>/test-artifacts/sso/`.
pub fn artifacts_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile = exe.parent().and_then(Path::parent).expect("target/<profile>/deps");
    let dir = profile.join("test-artifacts/sso");
    std::fs::create_dir_all(&dir).expect("create the artifacts dir");
    dir
}

/// What the browser saw last.
#[derive(Debug)]
pub struct Seen {
    pub matched: bool,
    pub url: String,
    pub text: String,
    pub json: Value,
}

/// One visit: open `url`, sign in at the provider's login form as (`user`, `password`), wait for
/// `until` (a regex over the page's URL and text), then optionally open `then` = (URL, regex); a
/// screenshot of the end goes to `screenshot`. `resolve` is a Chromium host-resolver rule.
pub struct Visit<'a> {
    pub url: &'a str,
    pub user: &'a str,
    pub password: &'a str,
    pub until: &'a str,
    pub then: Option<(&'a str, &'a str)>,
    pub resolve: &'a str,
    pub screenshot: &'a Path,
}

pub fn browse(visit: &Visit) -> Seen {
    let mut cmd = Command::new("node");
    cmd.arg(repo_root().join("tests/sso/browser.mjs"))
        .args(["--url", visit.url, "--user", visit.user, "--password", visit.password])
        .args(["--until", visit.until, "--resolve", visit.resolve, "--timeout", "120"])
        .arg("--screenshot")
        .arg(visit.screenshot);
    if let Some((then_url, then_until)) = visit.then {
        cmd.args(["--then-url", then_url, "--then-until", then_until]);
    }
    let out = cmd.output().expect("run node tests/sso/browser.mjs (needs node and Debian's chromium)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
        panic!("browser.mjs printed no JSON ({e}):\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr))
    });
    Seen {
        matched: json["matched"] == true,
        url: json["url"].as_str().unwrap_or_default().to_string(),
        text: json["text"].as_str().unwrap_or_default().to_string(),
        json,
    }
}
