//! Certificates and keys: PEM parsing (rustls-pki-types), the key-matches-certificate check
//! (rustls, with the ring provider kube already uses), reading validity and names
//! (x509-parser), and self-signed pairs for tests and demos (rcgen).

use std::net::IpAddr;
use std::sync::Arc;

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::extensions::GeneralName;

/// What the leaf certificate says about itself.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub subject: String,
    /// DNS names and IP addresses of its subjectAltName.
    pub names: Vec<String>,
    pub not_before: i64,
    pub not_after: i64,
}

/// A problem with one of the two inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemProblem {
    Cert(String),
    Key(String),
}

pub fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, PemProblem> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    match certs {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(PemProblem::Cert("holds no PEM certificate (a -----BEGIN CERTIFICATE----- block)".into())),
        Err(err) => Err(PemProblem::Cert(format!("is not valid PEM: {err}"))),
    }
}

pub fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, PemProblem> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|err| match err {
        rustls_pki_types::pem::Error::NoItemsFound => PemProblem::Key(
            "holds no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC; an encrypted key must be decrypted first)".into(),
        ),
        other => PemProblem::Key(format!("is not a valid PEM private key: {other}")),
    })
}

/// Parses the leaf (first) certificate.
pub fn leaf(cert: &CertificateDer<'_>) -> Result<Leaf, PemProblem> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|err| PemProblem::Cert(format!("holds a certificate that cannot be parsed: {err}")))?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = parsed.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.push(dns.to_string()),
                GeneralName::IPAddress(bytes) => names.extend(ip_text(bytes)),
                _ => {}
            }
        }
    }
    let validity = parsed.validity();
    Ok(Leaf {
        subject: parsed.subject().to_string(),
        names,
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
    })
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string()),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string()),
        _ => None,
    }
}

/// Whether the key is the private half of the certificate's public key.
pub fn key_matches(cert: &CertificateDer<'static>, key: &PrivateKeyDer<'static>) -> Result<(), PemProblem> {
    let signing = rustls::crypto::ring::sign::any_supported_type(key).map_err(|err| {
        PemProblem::Key(format!(
            "is a key type that cannot be used for TLS ({err}; use RSA, ECDSA P-256/P-384 or Ed25519)"
        ))
    })?;
    let certified = CertifiedKey::new(vec![cert.clone()], Arc::clone(&signing));
    match certified.keys_match() {
        Ok(()) => Ok(()),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => Err(PemProblem::Key(
            "does not belong to the certificate (its public key differs; give the key the certificate was issued for)"
                .into(),
        )),
        Err(_) => Ok(()), // the provider cannot tell; the server finds out at start
    }
}

/// Whether a certificate name (`*.example.com` allowed) covers a host.
pub fn covers(name: &str, host: &str) -> bool {
    let (name, host) = (name.to_ascii_lowercase(), host.to_ascii_lowercase());
    match name.strip_prefix("*.") {
        Some(suffix) => host.split_once('.').is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
        None => name == host,
    }
}

/// A key (ECDSA P-256) and a certificate for the hosts, valid for a year from now.
pub fn self_signed(hosts: &[String]) -> Result<(String, String), String> {
    let mut params = rcgen::CertificateParams::new(hosts.to_vec())
        .map_err(|err| format!("cannot make a certificate for these hosts: {err}"))?;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(365);
    params.distinguished_name.push(rcgen::DnType::CommonName, hosts[0].clone());
    let key = rcgen::KeyPair::generate().map_err(|err| format!("cannot generate a key: {err}"))?;
    let cert = params.self_signed(&key).map_err(|err| format!("cannot sign the certificate: {err}"))?;
    Ok((cert.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("*.example.com", "mlflow.example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(covers("MLflow.example.com", "mlflow.example.com"));
    }

    #[test]
    fn a_self_signed_pair_matches_and_names_its_hosts() {
        let hosts = vec!["mlflow.example.com".to_string(), "127.0.0.1".to_string()];
        let (cert, key) = self_signed(&hosts).unwrap();
        let certs = certificates(cert.as_bytes()).unwrap();
        let key = private_key(key.as_bytes()).unwrap();
        key_matches(&certs[0], &key).unwrap();
        let leaf = leaf(&certs[0]).unwrap();
        assert_eq!(leaf.names, hosts);
        let (_, other) = self_signed(&hosts).unwrap();
        assert!(key_matches(&certs[0], &private_key(other.as_bytes()).unwrap()).is_err());
    }
}
