//! Single sign-on: the oauth2-proxy sidecar that signs people in with an OpenID Connect provider
//! in front of MLflow, which then listens on 127.0.0.1 only. What the values must hold for it to
//! start and admit anyone, and the proxy's command line.

use crate::names::is_dns1123_subdomain;
use crate::problem::{index, Problem, Problems};
use crate::values::model::flag_name;
use crate::values::Values;

/// The proxy's container in the server pod.
pub const CONTAINER: &str = "oauth2-proxy";
/// Where MLflow listens when the proxy guards it: nothing outside the pod reaches it.
pub const LOOPBACK: &str = "127.0.0.1";
/// The keys of the client Secret and of the cookie Secret (`kubectl mlflow secrets oidc`).
pub const CLIENT_ID_KEY: &str = "client-id";
pub const CLIENT_SECRET_KEY: &str = "client-secret";
pub const COOKIE_SECRET_KEY: &str = "cookie-secret";
/// The variables oauth2-proxy reads its client and cookie secrets from (never the command line).
pub const CLIENT_ID_ENV: &str = "OAUTH2_PROXY_CLIENT_ID";
pub const CLIENT_SECRET_ENV: &str = "OAUTH2_PROXY_CLIENT_SECRET";
pub const COOKIE_SECRET_ENV: &str = "OAUTH2_PROXY_COOKIE_SECRET";
/// The proxy's own health paths (outside the sign-in).
pub const PING_PATH: &str = "/ping";
pub const READY_PATH: &str = "/ready";
/// The variable the MLflow client (and `kubectl mlflow check`) sends as `Authorization: Bearer`.
pub const TRACKING_TOKEN_ENV: &str = "MLFLOW_TRACKING_TOKEN";
/// The scopes asked for when `oidc.scope` is empty.
const DEFAULT_SCOPE: &str = "openid email profile";

/// Options of oauth2-proxy the chart sets itself: given again in `extraArgs`, a list option would
/// gain a second value (a second upstream) and a single one would silently change.
const OWN_OPTIONS: [&str; 20] = [
    "provider",
    "oidc-issuer-url",
    "http-address",
    "https-address",
    "tls-cert-file",
    "tls-key-file",
    "upstream",
    "proxy-prefix",
    "reverse-proxy",
    "skip-provider-button",
    "skip-jwt-bearer-tokens",
    "cookie-secure",
    "scope",
    "email-domain",
    "allowed-group",
    "extra-jwt-issuers",
    "skip-auth-route",
    "client-id",
    "client-secret",
    "cookie-secret",
];

/// Refuses what keeps the proxy from starting or anyone from signing in.
pub fn check(values: &Values, out: &mut Problems) {
    let oidc = &values.oidc;
    if !oidc.enabled {
        return;
    }
    if oidc.issuer_url.is_empty() {
        out.push(Problem::at(
            "oidc.issuerUrl",
            "no issuer is set; the sign-in needs the provider's issuer URL (e.g. https://login.example.com/realms/ml), or set oidc.enabled: false",
        ));
    } else if issuer_host_port(&oidc.issuer_url).is_none() {
        out.push(Problem::at(
            "oidc.issuerUrl",
            format!("\"{}\" is not an http(s) URL (e.g. https://login.example.com/realms/ml)", oidc.issuer_url),
        ));
    }
    for (path, name) in
        [("oidc.clientSecretName", &oidc.client_secret_name), ("oidc.cookieSecretName", &oidc.cookie_secret_name)]
    {
        if !is_dns1123_subdomain(name) {
            out.push(Problem::at(
                path,
                format!("\"{name}\" is not a valid Secret name (lowercase letters, digits, '-' and '.', e.g. mlflow-oidc-client)"),
            ));
        }
    }
    if oidc.email_domains.iter().all(|d| d.trim().is_empty()) {
        out.push(Problem::at(
            "oidc.emailDomains",
            "no email domain is admitted, so nobody could sign in (e.g. [example.com], or [\"*\"] for any)",
        ));
    }
    match (values.basic_auth(), oidc.basic_auth.as_str()) {
        (true, "") => out.push(Problem::at(
            "oidc.basicAuth",
            "basic auth (server.value_options.app_name: basic-auth) and oidc are both on without saying how they combine: set oidc.basicAuth: api (people sign in with the provider, then with MLflow's login; <staticPrefix>/api/ is left to MLflow's basic auth, for pipelines), or turn one of them off",
        )),
        (false, "api") => out.push(Problem::at(
            "oidc.basicAuth",
            "\"api\" leaves the API to MLflow's basic auth, which is off (set server.value_options.app_name: basic-auth, or oidc.basicAuth: \"\")",
        )),
        _ => {}
    }
    if oidc.port == values.port() {
        out.push(Problem::at(
            "oidc.port",
            format!(
                "{} is MLflow's own port (server.value_options.port); the proxy needs another (e.g. 4180)",
                oidc.port
            ),
        ));
    }
    for (i, issuer) in oidc.extra_jwt_issuers.iter().enumerate() {
        let ok = issuer
            .split_once('=')
            .is_some_and(|(url, audience)| issuer_host_port(url).is_some() && !audience.is_empty());
        if !ok {
            out.push(Problem::at(
                index("oidc.extraJwtIssuers", i),
                format!("\"{issuer}\" is not <issuer URL>=<audience> (e.g. https://login.example.com=mlflow)"),
            ));
        }
    }
    for (i, arg) in oidc.extra_args.iter().enumerate() {
        let path = index("oidc.extraArgs", i);
        let name = arg.strip_prefix("--").map(|rest| rest.split('=').next().unwrap_or_default());
        match name {
            None | Some("") => out.push(Problem::at(
                path,
                format!("\"{arg}\" is not an oauth2-proxy option (write --name=value, e.g. --cookie-expire=8h)"),
            )),
            Some(name) if OWN_OPTIONS.contains(&name) => out.push(Problem::at(
                path,
                format!("--{name} is set by the chart from its values (use the oidc.* keys instead)"),
            )),
            Some(_) => {}
        }
    }
    gc_reaches_server(values, out);
}

/// `mlflow gc` deletes the artifacts the server proxies through the server, which the sign-in
/// would turn it away from: it passes with MLflow's basic auth on the API, or when the server
/// proxies no artifacts.
fn gc_reaches_server(values: &Values, out: &mut Problems) {
    let proxies_artifacts = !values.server.flag_options.iter().any(|f| flag_name(f) == "no-serve-artifacts");
    if values.garbage_collection.enabled && values.oidc.basic_auth != "api" && proxies_artifacts {
        out.push(Problem::at(
            "garbageCollection.enabled",
            "mlflow gc deletes the artifacts the server proxies through the server, and the sign-in (oidc) turns it away: set oidc.basicAuth: api with basic auth, or server.flag_options: [no_serve_artifacts] with a bucket in mlflow.defaultArtifactRoot, or turn garbage collection off",
        ));
    }
}

/// `(host, port)` of an `http://` or `https://` URL with a host; the port defaults by scheme.
/// (The chart's `mlflow.issuerHostPort` reads it the same way.)
pub fn issuer_host_port(url: &str) -> Option<(String, u16)> {
    let (rest, default_port) =
        if let Some(rest) = url.strip_prefix("https://") { (rest, 443) } else { (url.strip_prefix("http://")?, 80) };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, digits)) if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) => {
            (host, digits.parse::<u16>().ok().filter(|p| *p > 0)?)
        }
        _ => (host_port, default_port),
    };
    let valid =
        !host.is_empty() && !host.contains(char::is_whitespace) && (host.starts_with('[') || !host.contains(':'));
    valid.then(|| (host.to_string(), port))
}

/// Whether the session cookie is marked Secure: `oidc.cookieSecure`, else whether the server is
/// reached over HTTPS (its own TLS, or an Ingress with TLS). A browser on http://localhost keeps
/// no cookie marked Secure in some versions, so plain HTTP leaves it off.
pub fn cookie_secure(values: &Values) -> bool {
    values
        .oidc
        .cookie_secure
        .unwrap_or(values.tls.enabled || (values.ingress.enabled && !values.ingress.tls.is_empty()))
}

/// The scopes asked for: `oidc.scope`, else openid, email and profile, and groups when groups
/// are checked (the provider puts them into the token only when asked).
pub fn scope(values: &Values) -> String {
    let oidc = &values.oidc;
    if !oidc.scope.is_empty() {
        oidc.scope.clone()
    } else if oidc.allowed_groups.is_empty() {
        DEFAULT_SCOPE.into()
    } else {
        format!("{DEFAULT_SCOPE} groups")
    }
}

/// The proxy's image: `repository:tag` (the repository alone without a tag).
pub fn image(values: &Values) -> String {
    let image = &values.oidc.image;
    if image.tag.is_empty() {
        image.repository.clone()
    } else {
        format!("{}:{}", image.repository, image.tag)
    }
}

/// A text as a Go regular expression matching it literally (Go's `regexp.QuoteMeta`).
pub fn quote_meta(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted
}

/// The proxy's command line (after the image's entrypoint). `prefix` is the static prefix without
/// a trailing `/`, `tls_dir` where the certificate is mounted when the proxy serves HTTPS.
pub fn args(values: &Values, prefix: &str, tls_dir: &str) -> Vec<String> {
    let oidc = &values.oidc;
    let mut args = vec!["--provider=oidc".to_string(), format!("--oidc-issuer-url={}", oidc.issuer_url)];
    if values.tls.enabled {
        args.push(format!("--https-address=0.0.0.0:{}", oidc.port));
        args.push(format!("--tls-cert-file={tls_dir}/tls.crt"));
        args.push(format!("--tls-key-file={tls_dir}/tls.key"));
    } else {
        args.push(format!("--http-address=0.0.0.0:{}", oidc.port));
    }
    args.push(format!("--upstream=http://{LOOPBACK}:{}/", values.port()));
    args.push(format!("--proxy-prefix={prefix}/oauth2"));
    args.push("--reverse-proxy=true".into());
    args.push("--skip-provider-button=true".into());
    args.push("--skip-jwt-bearer-tokens=true".into());
    args.push("--code-challenge-method=S256".into());
    args.push(format!("--cookie-secure={}", cookie_secure(values)));
    args.push(format!("--scope={}", scope(values)));
    args.extend(oidc.email_domains.iter().filter(|d| !d.trim().is_empty()).map(|d| format!("--email-domain={d}")));
    args.extend(oidc.allowed_groups.iter().map(|g| format!("--allowed-group={g}")));
    args.extend(oidc.extra_jwt_issuers.iter().map(|i| format!("--extra-jwt-issuers={i}")));
    let quoted = quote_meta(prefix);
    args.push(format!("--skip-auth-route=GET=^{quoted}/health$"));
    if values.metrics.enabled {
        args.push("--skip-auth-route=GET=^/metrics$".into());
    }
    if oidc.basic_auth == "api" {
        args.push(format!("--skip-auth-route=^{quoted}/api/"));
    }
    args.push(format!("--api-route=^{quoted}/api/"));
    args.push("--silence-ping-logging=true".into());
    args.extend(oidc.extra_args.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_urls() {
        assert_eq!(issuer_host_port("https://login.example.com/realms/ml"), Some(("login.example.com".into(), 443)));
        assert_eq!(
            issuer_host_port("http://oidc.sso.svc.cluster.local:5556/oidc"),
            Some(("oidc.sso.svc.cluster.local".into(), 5556))
        );
        assert_eq!(issuer_host_port("http://[::1]:8080/x"), Some(("[::1]".into(), 8080)));
        for bad in [
            "",
            "login.example.com",
            "ftp://x",
            "https://",
            "https://h:0/",
            "https://h:abc/",
            "https:// h/",
            "https://h:/",
            "https://h:99999/",
        ] {
            assert_eq!(issuer_host_port(bad), None, "{bad}");
        }
    }

    #[test]
    fn quoting_as_go_does() {
        assert_eq!(quote_meta("/ml.flow+x"), "/ml\\.flow\\+x");
        assert_eq!(quote_meta(""), "");
    }
}
