//! `oidc`: the two Secrets of the sign-in proxy: the client registered at the provider
//! (`client-id`, `client-secret`) and the session cookie's secret (`cookie-secret`, 32 random
//! bytes unless given), which the printed values point `oidc.clientSecretName` and
//! `oidc.cookieSecretName` at.

use base64::Engine;
use clap::Args;
use kubectl_mlflow_core::names::is_dns1123_subdomain;
use kubectl_mlflow_core::oidc::{issuer_host_port, CLIENT_ID_KEY, CLIENT_SECRET_KEY, COOKIE_SECRET_KEY};
use kubectl_mlflow_core::random;
use serde_json::{json, Value};

use super::Plan;
use crate::input::Inputs;
use crate::Common;

/// The cookie Secret's documented name (the client Secret's is the kind's default name).
pub const DEFAULT_COOKIE_SECRET_NAME: &str = "mlflow-oidc-cookie";
/// Byte lengths oauth2-proxy takes for its cookie secret (AES-128, -192, -256).
const COOKIE_LENGTHS: [usize; 3] = [16, 24, 32];
const GENERATED_COOKIE: usize = 32;

#[derive(Debug, Clone, Args)]
pub struct OidcArgs {
    /// The client id registered at the provider: VALUE, @FILE or -
    #[arg(long, value_name = "VALUE")]
    pub client_id: String,

    /// The client's secret: VALUE, @FILE or -
    #[arg(long, value_name = "VALUE")]
    pub client_secret: String,

    /// The session cookie's secret, 16, 24 or 32 bytes or their base64: VALUE, @FILE or -
    /// [default: 32 random bytes, kept on a rerun]
    #[arg(long, value_name = "VALUE")]
    pub cookie_secret: Option<String>,

    /// Name of the cookie Secret
    #[arg(long, default_value = DEFAULT_COOKIE_SECRET_NAME, value_name = "NAME")]
    pub cookie_secret_name: String,

    /// The provider's issuer URL, added to the printed values (oidc.issuerUrl)
    #[arg(long, value_name = "URL")]
    pub issuer_url: Option<String>,

    #[command(flatten)]
    pub common: Common,
}

/// The client Secret (carrying the values snippet) and the cookie Secret.
pub fn plans(args: &OidcArgs, name: String, inputs: &mut Inputs) -> Option<Vec<Plan>> {
    let id = inputs.value("--client-id", &args.client_id);
    if id.as_deref().is_some_and(|id| id.chars().any(|c| c.is_whitespace() || c.is_control())) {
        inputs.problem("--client-id", "contains whitespace (copy the client id without spaces)");
    }
    let secret = inputs.value("--client-secret", &args.client_secret);
    if secret.as_deref().is_some_and(|s| s.chars().any(|c| c.is_whitespace() || c.is_control())) {
        inputs.problem("--client-secret", "contains whitespace (copy the secret without spaces)");
    }
    let cookie_name = &args.cookie_secret_name;
    if !is_dns1123_subdomain(cookie_name) {
        inputs.problem(
            "--cookie-secret-name",
            &format!("\"{cookie_name}\" is not a valid Secret name (lowercase letters, digits, '-' and '.', e.g. {DEFAULT_COOKIE_SECRET_NAME})"),
        );
    } else if *cookie_name == name {
        inputs.problem(
            "--cookie-secret-name",
            &format!("\"{cookie_name}\" is the client Secret's name too (--name); the two Secrets need two names"),
        );
    }
    if let Some(url) = args.issuer_url.as_deref().filter(|url| issuer_host_port(url).is_none()) {
        inputs.problem(
            "--issuer-url",
            &format!("\"{url}\" is not an http(s) URL with a host (e.g. https://login.example.com/realms/ml)"),
        );
    }
    let (cookie, generated) = match &args.cookie_secret {
        Some(given) => (inputs.value("--cookie-secret", given).filter(|c| cookie_secret_ok(c, inputs)), false),
        None => match random::base64url(GENERATED_COOKIE) {
            Ok(value) => (Some(value), true),
            Err(message) => {
                inputs.problem("--cookie-secret", &message);
                (None, false)
            }
        },
    };
    let mut snippet = json!({"oidc": {"enabled": true, "clientSecretName": name, "cookieSecretName": cookie_name}});
    if let Some(url) = &args.issuer_url {
        snippet["oidc"]["issuerUrl"] = Value::String(url.clone());
    }
    let mut client = Plan::new(name, "Opaque", snippet).with(CLIENT_ID_KEY, id?).with(CLIENT_SECRET_KEY, secret?);
    client.notes.push(
        "register <the URL MLflow is reached at>/oauth2/callback at the provider as a redirect URL (http://localhost:5000/oauth2/callback and http://127.0.0.1:5000/oauth2/callback for kubectl mlflow portforward)".into(),
    );
    if args.issuer_url.is_none() {
        client.notes.push("set oidc.issuerUrl to the provider's issuer URL (or give --issuer-url)".into());
    }
    let mut cookie_plan = Plan::new(cookie_name.clone(), "Opaque", Value::Null).with(COOKIE_SECRET_KEY, cookie?);
    if generated {
        cookie_plan.generated.push(COOKIE_SECRET_KEY);
    }
    Some(vec![client, cookie_plan])
}

/// oauth2-proxy takes a cookie secret of 16, 24 or 32 bytes, as they are or in base64.
fn cookie_secret_ok(secret: &str, inputs: &mut Inputs) -> bool {
    let engines = [
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    let decoded = engines.iter().find_map(|engine| engine.decode(secret).ok());
    let ok = COOKIE_LENGTHS.contains(&secret.len()) || decoded.is_some_and(|d| COOKIE_LENGTHS.contains(&d.len()));
    if !ok {
        inputs.problem(
            "--cookie-secret",
            &format!(
                "is {} bytes long; oauth2-proxy needs 16, 24 or 32 bytes, or their base64 (leave it out to generate 32 random bytes)",
                secret.len()
            ),
        );
    }
    ok
}
