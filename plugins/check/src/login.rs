//! The basic-auth login: the release's admin, read from the Secrets the server reads it from, or
//! `--username` and `--password-file`; and the bearer token a release behind single sign-on takes
//! (`--token-file` or `MLFLOW_TRACKING_TOKEN`). Neither the password nor the token is ever printed:
//! not in errors, not in the server's answers or logs shown, not by `Debug`.

use std::io::Read;

use base64::Engine;
use hyper::header::HeaderValue;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kubectl_mlflow_core::cluster::describe;
use kubectl_mlflow_core::cluster::server_settings::{AuthHint, SecretKey};
use kubectl_mlflow_core::oidc::TRACKING_TOKEN_ENV;
use kubectl_mlflow_core::Failure;

/// Who the probe logs in as.
pub struct Login {
    pub username: String,
    password: String,
    /// Where the password came from, for notes: `Secret mlflow-mlflow-auth, key admin-password`.
    pub source: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login").field("username", &self.username).finish_non_exhaustive()
    }
}

impl Login {
    /// `Authorization: Basic …`, marked sensitive (hyper leaves it out of its own Debug output).
    pub fn header(&self) -> HeaderValue {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.username, self.password));
        let mut value = HeaderValue::from_str(&format!("Basic {token}")).expect("base64 is a valid header value");
        value.set_sensitive(true);
        value
    }

    /// `text` with the password replaced by `***` wherever it occurs.
    pub fn mask(&self, text: &str) -> String {
        if self.password.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.password, "***")
        }
    }
}

/// A token of the release's OpenID Connect provider, sent as `Authorization: Bearer` to the
/// sign-in proxy in front of the server.
pub struct Token {
    token: String,
    /// Where it came from, for notes: `--token-file` or `MLFLOW_TRACKING_TOKEN`.
    pub source: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("source", &self.source).finish_non_exhaustive()
    }
}

impl Token {
    /// `Authorization: Bearer …`, marked sensitive.
    pub fn header(&self) -> HeaderValue {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.token)).expect("checked when read");
        value.set_sensitive(true);
        value
    }

    /// `text` with the token replaced by `***` wherever it occurs.
    pub fn mask(&self, text: &str) -> String {
        text.replace(&self.token, "***")
    }
}

/// The token of `--token-file` (`-`: standard input), else of `MLFLOW_TRACKING_TOKEN` (`env`, as
/// the MLflow client reads it), without surrounding whitespace.
pub fn read_token(path: Option<&str>, env: Option<String>) -> Result<Option<Token>, Failure> {
    let (token, source) = match path {
        Some(path) => (read_secret_file(path, "--token-file", "the token")?, "--token-file".to_string()),
        None => match env.filter(|t| !t.trim().is_empty()) {
            Some(token) => (token, TRACKING_TOKEN_ENV.to_string()),
            None => return Ok(None),
        },
    };
    let token = token.trim().to_string();
    if token.is_empty()
        || HeaderValue::from_str(&format!("Bearer {token}")).is_err()
        || token.contains(char::is_whitespace)
    {
        return Err(Failure::input(format!(
            "{source}: the token is not one word of printable characters (give the provider's token as issued)"
        )));
    }
    Ok(Some(Token { token, source }))
}

/// The password of `--password-file` (`-`: standard input), without its final line break.
pub fn read_password_file(path: Option<&str>) -> Result<Option<String>, Failure> {
    path.map(|path| read_secret_file(path, "--password-file", "the password")).transpose()
}

/// A file's text (`-`: standard input) without its final line break; refused when empty.
fn read_secret_file(path: &str, flag: &str, holds: &str) -> Result<String, Failure> {
    let mut text = String::new();
    let read = match path {
        "-" => std::io::stdin().read_to_string(&mut text).map(drop),
        path => std::fs::read_to_string(path).map(|t| text = t),
    };
    read.map_err(|err| Failure::input(format!("{flag} {path}: {err}")))?;
    let value = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text).to_string();
    if value.is_empty() {
        return Err(Failure::input(format!("{flag} {path}: the file is empty (it holds {holds})")));
    }
    Ok(value)
}

/// The login to use: the flags' where given, else the release's admin when the server has basic
/// auth; `None` when neither.
pub async fn resolve(
    secrets: &Api<Secret>,
    auth: Option<&AuthHint>,
    username: Option<&str>,
    password: Option<String>,
) -> Result<Option<Login>, Failure> {
    let Some(auth) = auth else {
        if username.is_none() && password.is_none() {
            return Ok(None);
        }
        let password = password.ok_or_else(|| Failure::input("--username needs --password-file"))?;
        let username = username.unwrap_or("admin").to_string();
        return Ok(Some(Login { username, password, source: "--password-file".into() }));
    };
    let username = match (username, &auth.username_secret) {
        (Some(given), _) => given.to_string(),
        (None, Some(key)) => read(secrets, key, "the admin user of basic auth").await?,
        (None, None) => auth.username.clone(),
    };
    if let Some(password) = password {
        return Ok(Some(Login { username, password, source: "--password-file".into() }));
    }
    let Some(key) = &auth.secret else {
        return Err(Failure::input(
            "the server has basic auth, but its admin password (MLFLOW_AUTH_ADMIN_PASSWORD) is not read from a \
             Secret: give the login with --username and --password-file",
        ));
    };
    let password = read(secrets, key, "the admin password of basic auth").await?;
    Ok(Some(Login { username, password, source: format!("Secret {}, key {}", key.0, key.1) }))
}

/// A Secret's value as text.
pub async fn read(secrets: &Api<Secret>, (name, key): &SecretKey, what: &str) -> Result<String, Failure> {
    let bytes = read_bytes(secrets, &(name.clone(), key.clone()), what).await?;
    String::from_utf8(bytes).map_err(|_| Failure::failed(format!("Secret {name}, key {key} ({what}) is not text")))
}

/// A Secret's value.
pub async fn read_bytes(secrets: &Api<Secret>, (name, key): &SecretKey, what: &str) -> Result<Vec<u8>, Failure> {
    let secret = secrets.get_opt(name).await.map_err(|err| {
        Failure::failed(format!(
            "cannot read Secret {name} ({what}): {}{}",
            describe(&err),
            if what.contains("basic auth") { " (or give the login with --username and --password-file)" } else { "" }
        ))
    })?;
    let secret = secret.ok_or_else(|| Failure::failed(format!("Secret {name} ({what}) does not exist")))?;
    let value = secret.data.and_then(|mut data| data.remove(key)).map(|v| v.0);
    value.filter(|v| !v.is_empty()).ok_or_else(|| Failure::failed(format!("Secret {name} has no key {key} ({what})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_stays_out_of_debug_and_masked_text() {
        let login = Login { username: "admin".into(), password: "s3cr3t-pw".into(), source: "x".into() };
        assert!(!format!("{login:?}").contains("s3cr3t"));
        assert_eq!(login.mask("denied for admin:s3cr3t-pw"), "denied for admin:***");
        let header = login.header();
        assert!(header.is_sensitive());
        assert_eq!(header.to_str().unwrap(), "Basic YWRtaW46czNjcjN0LXB3");
    }

    #[test]
    fn password_files_lose_their_line_break_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "a b \r\n").unwrap();
        assert_eq!(read_password_file(Some(file.to_str().unwrap())).unwrap().as_deref(), Some("a b "));
        std::fs::write(&file, "\n").unwrap();
        assert!(read_password_file(Some(file.to_str().unwrap())).is_err());
        assert!(read_password_file(Some("/nonexistent/pw")).is_err());
    }

    #[test]
    fn tokens_come_from_the_file_else_the_variable_and_stay_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "eyJ.abc.def\n").unwrap();
        let path = file.to_str().unwrap();
        let token = read_token(Some(path), Some("from-env".into())).unwrap().unwrap();
        assert_eq!((token.source.as_str(), token.header().to_str().unwrap()), ("--token-file", "Bearer eyJ.abc.def"));
        assert!(token.header().is_sensitive());
        assert!(!format!("{token:?}").contains("eyJ"));
        assert_eq!(token.mask("bad token eyJ.abc.def"), "bad token ***");
        let token = read_token(None, Some("from-env".into())).unwrap().unwrap();
        assert_eq!(token.source, "MLFLOW_TRACKING_TOKEN");
        assert!(read_token(None, Some(" ".into())).unwrap().is_none());
        assert!(read_token(None, None).unwrap().is_none());
        std::fs::write(&file, "two words\n").unwrap();
        let refused = read_token(Some(path), None).unwrap_err().to_string();
        assert!(refused.contains("--token-file: the token is not one word"), "{refused}");
        assert!(!refused.contains("two words"), "{refused}");
    }
}
