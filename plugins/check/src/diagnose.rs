//! A failed step explained: the step and its request, the server's answer (status and an excerpt
//! of the body), what the failure points at (the login, the allowed hosts, the artifact store, the
//! port-forward's permission, the sign-in), and the last lines of the log of the pod's container that
//! answered. Passwords and tokens masked.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use kubectl_mlflow_core::cluster::describe;
use kubectl_mlflow_core::oidc;
use kubectl_mlflow_core::ui::{format_duration, mask};

use crate::http::Trouble;
use crate::target::Target;

/// Lines of the pod's log shown.
const LOG_LINES: i64 = 20;
/// Characters of an answer shown.
const EXCERPT: usize = 600;

/// A step that failed, and how.
#[derive(Debug)]
pub struct StepError {
    pub step: &'static str,
    /// `PUT /api/2.0/mlflow-artifacts/artifacts/…`
    pub request: String,
    pub trouble: Trouble,
}

/// The failure's message, and the pod's last log lines (also in it).
pub struct Diagnosis {
    pub message: String,
    pub log: Vec<String>,
}

/// The whole explanation.
pub async fn explain(target: &Target, error: &StepError) -> Diagnosis {
    let mut message = headline(error, target);
    for hint in hints(error, target) {
        message.push_str(&format!("\n  {hint}"));
    }
    let container = answered_by(target, error);
    let log = log_tail(target, &container).await;
    match &log {
        Ok(lines) if lines.is_empty() => message.push_str(&format!("\n  pod {}'s log is empty", target.pod)),
        Ok(lines) => {
            message.push_str(&format!(
                "\n  the last {} lines of pod {}'s log (container {container}):",
                lines.len(),
                target.pod,
            ));
            for line in lines {
                message.push_str(&format!("\n    {line}"));
            }
        }
        Err(why) => message.push_str(&format!("\n  pod {}'s log could not be read: {why}", target.pod)),
    }
    Diagnosis { message, log: log.unwrap_or_default() }
}

/// One line: `step "upload artifact" failed: PUT /…: the server answered 500 Internal Server Error: …`.
pub fn headline(error: &StepError, target: &Target) -> String {
    let what = match &error.trouble {
        Trouble::Status { status, body } if body.is_empty() => format!("the server answered {status}"),
        Trouble::Status { status, body } => format!("the server answered {status}: {body}"),
        Trouble::Timeout(limit) => format!("no answer within {} (--timeout)", format_duration(*limit)),
        Trouble::Connect(why) => why.clone(),
        Trouble::Broken(why) => format!("the connection broke: {why}"),
        Trouble::Unexpected(why) => why.clone(),
    };
    let line = format!("step {:?} failed: {}: {what}", error.step, error.request);
    masked(target, &line)
}

/// What the failure points at.
fn hints(error: &StepError, target: &Target) -> Vec<String> {
    let mut hints = Vec::new();
    let user = target.login.as_ref().map(|l| l.username.as_str());
    match &error.trouble {
        Trouble::Status { status, .. } if sign_in_refused(target, error, status.as_u16()) => {
            let issuer = target.served.sign_in.as_deref().unwrap_or_default();
            hints.push(match status.as_u16() {
                401 => format!(
                    "the sign-in (oauth2-proxy) refused the token: give a valid, unexpired ID token {issuer} issued \
                     for the release's client (--token-file, {})",
                    oidc::TRACKING_TOKEN_ENV
                ),
                403 => "the sign-in admits the token, not its user: oidc.allowedGroups and oidc.emailDomains say who"
                    .into(),
                _ => format!(
                    "the sign-in (oauth2-proxy) sent the request to {issuer}'s login page: give a token \
                     (--token-file, {})",
                    oidc::TRACKING_TOKEN_ENV
                ),
            })
        }
        Trouble::Status { status, body } if status.as_u16() == 401 => hints.push(match user {
            Some(user) => format!(
                "the server refused the login of user {user}: give the right one with --username and --password-file"
            ),
            None => "the server wants a login (basic auth): give it with --username and --password-file".into(),
        }),
        Trouble::Status { status, body } if status.as_u16() == 403 && body.contains("Invalid Host header") => hints
            .push(
                "the server's allowed hosts (--allowed-hosts, MLFLOW_SERVER_ALLOWED_HOSTS) do not admit localhost:*, \
             which a port-forward's requests carry"
                    .into(),
            ),
        Trouble::Status { status, .. } if status.as_u16() == 403 => {
            hints.push(format!("user {} may not do this (basic auth's permissions)", user.unwrap_or("(anonymous)")))
        }
        Trouble::Connect(why) if why.contains("forbidden") => hints.push(format!(
            "a port-forward needs the permission to create pods/portforward in namespace {0} \
             (kubectl auth can-i create pods/portforward -n {0})",
            target.namespace
        )),
        _ => {}
    }
    if error.step.contains("artifact") {
        hints.push(match &target.served.artifacts {
            Some(store) => format!("the artifact store behind the server: {}", store.describe()),
            None => "the artifact store behind the server: its default (--artifacts-destination is not set)".into(),
        });
    }
    hints
}

/// Whether the sign-in answered the request (rather than MLflow): it turns away a missing or
/// refused token (401, 403) and a browser's request (302), and lets only MLflow's API through to
/// basic auth when that is on.
fn sign_in_refused(target: &Target, error: &StepError, status: u16) -> bool {
    let to_basic_auth = target.login.is_some() && error.request.contains("/api/");
    target.served.sign_in.is_some() && !to_basic_auth && matches!(status, 401 | 403 | 302)
}

/// The container that answered: the sign-in's for its refusals, else MLflow's.
fn answered_by(target: &Target, error: &StepError) -> String {
    match &error.trouble {
        Trouble::Status { status, .. } if sign_in_refused(target, error, status.as_u16()) => oidc::CONTAINER.into(),
        _ => target.served.container.clone(),
    }
}

/// The last lines of the log of the pod's container that answered, passwords masked.
async fn log_tail(target: &Target, container: &str) -> Result<Vec<String>, String> {
    let params =
        LogParams { container: Some(container.to_string()), tail_lines: Some(LOG_LINES), ..LogParams::default() };
    let pods: &Api<Pod> = &target.pods;
    let text = pods.logs(&target.pod, &params).await.map_err(|err| describe(&err))?;
    Ok(text.lines().map(|line| masked(target, line)).collect())
}

/// `text` without the password of the login or of any URI, nor the sign-in's token.
fn masked(target: &Target, text: &str) -> String {
    let mut text = mask::passwords(text);
    if let Some(login) = &target.login {
        text = login.mask(&text);
    }
    match &target.token {
        Some(token) => token.mask(&text),
        None => text,
    }
}

/// An answer's body in a line: MLflow's `error_code: message` for its JSON errors, the title of
/// an HTML page (Flask's error pages), else the text; whitespace collapsed, cut at 600 characters.
pub fn excerpt(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) if json.get("message").is_some() => {
            let code = json["error_code"].as_str().map(|c| format!("{c}: ")).unwrap_or_default();
            format!("{code}{}", json["message"].as_str().unwrap_or_default())
        }
        _ => {
            let text = String::from_utf8_lossy(body).into_owned();
            html_title(&text).unwrap_or(text)
        }
    };
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(EXCERPT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// The `<title>` of an HTML page.
fn html_title(text: &str) -> Option<String> {
    let start = text.find("<title>")? + "<title>".len();
    let end = start + text[start..].find("</title>")?;
    Some(format!("(an HTML page titled {:?})", text[start..end].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_of_answers() {
        assert_eq!(excerpt(b"OK\n"), "OK");
        assert_eq!(
            excerpt(br#"{"error_code": "INTERNAL_ERROR", "message": "Could not connect\n to the endpoint"}"#),
            "INTERNAL_ERROR: Could not connect to the endpoint"
        );
        let page = b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>";
        assert_eq!(excerpt(page), "(an HTML page titled \"500 Internal Server Error\")");
        let long = "x".repeat(700);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), EXCERPT + 1);
    }
}
