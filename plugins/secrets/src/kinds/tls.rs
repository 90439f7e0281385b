//! `tls`: a kubernetes.io/tls Secret from a certificate and its key, checked before it is
//! written, or a self-signed pair made here for tests and demos.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use kubectl_mlflow_core::names::is_dns1123_subdomain;
use serde_json::json;

use super::Plan;
use crate::input::Inputs;
use crate::pki::{self, PemProblem};
use crate::Common;

/// Below this many days left, a warning.
const WARN_DAYS: i64 = 30;

#[derive(Debug, Clone, Args)]
pub struct TlsArgs {
    /// The certificate, PEM (FILE, or - for standard input); a chain starts with the server's own
    #[arg(long, value_name = "FILE", required_unless_present = "self_signed", requires = "key")]
    pub cert: Option<String>,

    /// The certificate's private key, PEM (FILE, or - for standard input)
    #[arg(long, value_name = "FILE", required_unless_present = "self_signed", requires = "cert")]
    pub key: Option<String>,

    /// Make a key and a self-signed certificate for the --host names (for tests and demos)
    #[arg(long, conflicts_with_all = ["cert", "key"], requires = "host")]
    pub self_signed: bool,

    /// A host name or IP address clients use (repeatable); warned about when the certificate
    /// does not name it
    #[arg(long, value_name = "HOST")]
    pub host: Vec<String>,

    #[command(flatten)]
    pub common: Common,
}

pub fn plan(args: &TlsArgs, name: String, inputs: &mut Inputs) -> Option<Plan> {
    for host in args.host.iter().filter(|h| !is_host(h)) {
        inputs.problem("--host", &format!("\"{host}\" is not a DNS name or IP address (e.g. mlflow.example.com)"));
    }
    let snippet = json!({"tls": {"enabled": true, "secretName": name}});
    let mut plan = Plan::new(name, "kubernetes.io/tls", snippet);
    let (cert, key) = if args.self_signed {
        if !inputs.problems.is_empty() {
            return None;
        }
        let (cert, key) = pki::self_signed(&args.host).map_err(|m| inputs.problem("--host", &m)).ok()?;
        plan.generated = vec!["tls.crt", "tls.key"];
        plan.notes.push(format!(
            "made a self-signed certificate for {} (valid 365 days; clients need MLFLOW_TRACKING_SERVER_CERT_PATH=<tls.crt> or MLFLOW_TRACKING_INSECURE_TLS=true)",
            args.host.join(", ")
        ));
        (cert.into_bytes(), key.into_bytes())
    } else {
        let cert = inputs.file("--cert", args.cert.as_deref().unwrap_or_default());
        let key = inputs.file("--key", args.key.as_deref().unwrap_or_default());
        let (cert, key) = (cert?, key?);
        check_pair(&cert, &key, &args.host, inputs, &mut plan.warnings)?;
        (cert, key)
    };
    Some(plan.with("tls.crt", cert).with("tls.key", key))
}

fn check_pair(
    cert: &[u8],
    key: &[u8],
    hosts: &[String],
    inputs: &mut Inputs,
    warnings: &mut Vec<String>,
) -> Option<()> {
    let report = |inputs: &mut Inputs, bad: PemProblem| match bad {
        PemProblem::Cert(m) => inputs.problem("--cert", &m),
        PemProblem::Key(m) => inputs.problem("--key", &m),
    };
    let certs = pki::certificates(cert).map_err(|b| report(inputs, b)).ok();
    let key = pki::private_key(key).map_err(|b| report(inputs, b)).ok();
    let certs = certs?;
    let leaf = pki::leaf(&certs[0]).map_err(|b| report(inputs, b)).ok()?;
    if let Err(bad) = pki::key_matches(&certs[0], &key?) {
        report(inputs, bad);
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let days_left = (leaf.not_after - now).div_euclid(86_400);
    if leaf.not_after <= now {
        inputs.problem(
            "--cert",
            &format!("the certificate of {} expired {} days ago (renew it)", leaf.subject, -days_left),
        );
    } else if leaf.not_before > now {
        inputs.problem(
            "--cert",
            &format!("the certificate of {} is not valid yet (check the clock, or wait until it is)", leaf.subject),
        );
    } else if days_left < WARN_DAYS {
        warnings
            .push(format!("--cert: the certificate of {} expires in {days_left} days (renew it soon)", leaf.subject));
    }
    for host in hosts.iter().filter(|h| !leaf.names.iter().any(|n| pki::covers(n, h))) {
        warnings.push(format!(
            "--host {host}: the certificate does not name it (it names: {}); clients will refuse it",
            shown(&leaf.names)
        ));
    }
    Some(())
}

fn shown(names: &[String]) -> String {
    if names.is_empty() {
        "no subjectAltName".into()
    } else {
        names.join(", ")
    }
}

fn is_host(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok() || is_dns1123_subdomain(host.strip_prefix("*.").unwrap_or(host))
}
