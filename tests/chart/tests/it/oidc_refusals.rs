//! Single sign-on values that can never work, refused alike by the chart (helm 3.17 and 4.1) and
//! the library: the same lines in the same order, or both accept.

use crate::refusals::assert_same_refusals;

const STORE: &str = "storage:\n  enabled: true\nmlflow:\n  backendStoreUri: sqlite:////mlflow/mlflow.db\n";
const ISSUER: &str = "  issuerUrl: https://login.example.com/realms/ml\n";
const BASIC: &str = "server:\n  value_options:\n    app_name: basic-auth\n";

fn oidc(extra: &str) -> String {
    format!("{STORE}oidc:\n  enabled: true\n{extra}")
}

#[test]
fn sign_in_values_that_cannot_work_are_refused_alike() {
    let cases = [
        (oidc(""), "oidc.issuerUrl: no issuer is set; the sign-in needs the provider's issuer URL (e.g. https://login.example.com/realms/ml), or set oidc.enabled: false"),
        (oidc("  issuerUrl: login.example.com\n"), "oidc.issuerUrl: \"login.example.com\" is not an http(s) URL"),
        (oidc("  issuerUrl: \"https://h:0/x\"\n"), "is not an http(s) URL"),
        (oidc("  issuerUrl: \"https://h:abc/x\"\n"), "is not an http(s) URL"),
        (format!("{BASIC}{}", oidc(ISSUER)), "oidc.basicAuth: basic auth (server.value_options.app_name: basic-auth) and oidc are both on without saying how they combine: set oidc.basicAuth: api"),
        (oidc(&format!("{ISSUER}  basicAuth: api\n")), "oidc.basicAuth: \"api\" leaves the API to MLflow's basic auth, which is off"),
        (oidc(&format!("{ISSUER}  emailDomains: []\n")), "oidc.emailDomains: no email domain is admitted, so nobody could sign in"),
        (oidc(&format!("{ISSUER}  emailDomains: [\" \"]\n")), "oidc.emailDomains: no email domain is admitted"),
        (oidc(&format!("{ISSUER}  clientSecretName: OIDC_Client\n  cookieSecretName: \"\"\n")), "oidc.clientSecretName: \"OIDC_Client\" is not a valid Secret name"),
        (oidc(&format!("{ISSUER}  clientSecretName: OIDC_Client\n  cookieSecretName: \"\"\n")), "oidc.cookieSecretName: \"\" is not a valid Secret name"),
        (oidc(&format!("{ISSUER}  port: 5000\n")), "oidc.port: 5000 is MLflow's own port (server.value_options.port); the proxy needs another (e.g. 4180)"),
        (oidc(&format!("{ISSUER}  extraJwtIssuers: [\"https://ci.example.com\", \"ci=mlflow\", \"https://ci.example.com=\"]\n")), "oidc.extraJwtIssuers[0]: \"https://ci.example.com\" is not <issuer URL>=<audience>"),
        (oidc(&format!("{ISSUER}  extraJwtIssuers: [\"ci=mlflow\"]\n")), "oidc.extraJwtIssuers[0]: \"ci=mlflow\" is not"),
        (oidc(&format!("{ISSUER}  extraArgs: [\"cookie-expire=8h\", \"--upstream=http://other/\", \"--\"]\n")), "oidc.extraArgs[0]: \"cookie-expire=8h\" is not an oauth2-proxy option (write --name=value"),
        (oidc(&format!("{ISSUER}  extraArgs: [\"--upstream=http://other/\"]\n")), "oidc.extraArgs[0]: --upstream is set by the chart from its values (use the oidc.* keys instead)"),
        (format!("garbageCollection:\n  enabled: true\n{}", oidc(ISSUER)), "garbageCollection.enabled: mlflow gc deletes the artifacts the server proxies through the server, and the sign-in (oidc) turns it away"),
        // What can work passes; nothing is checked while the sign-in is off.
        (oidc(ISSUER), ""),
        (oidc("  issuerUrl: \"http://user@[::1]:5556/dex?x=1\"\n  cookieSecure: true\n  extraArgs: [\"--cookie-expire=8h\"]\n"), ""),
        (format!("{BASIC}garbageCollection:\n  enabled: true\n{}", oidc(&format!("{ISSUER}  basicAuth: api\n"))), ""),
        (format!("server:\n  flag_options: [no_serve_artifacts]\ngarbageCollection:\n  enabled: true\n{}", oidc(ISSUER)), ""),
        (format!("{STORE}oidc:\n  enabled: false\n  issuerUrl: nonsense\n  emailDomains: []\n  basicAuth: api\n"), ""),
    ];
    let cases: Vec<(&str, &str)> = cases.iter().map(|(yaml, expected)| (yaml.as_str(), *expected)).collect();
    assert_same_refusals(&cases);
}
