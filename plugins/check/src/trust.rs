//! TLS to a server that serves it: the certificate it must present is the one in the release's
//! TLS Secret (pinned, so a self-signed one works and no host name has to match: the connection
//! goes to the pod the API server forwards to), or anything with `--insecure`. The handshake's
//! signatures are verified either way.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// Which certificates the server may present.
#[derive(Debug, Clone)]
pub enum Trust {
    /// One of these (the Secret's `tls.crt`: the server's certificate, maybe with its chain).
    Pinned { certificates: Vec<CertificateDer<'static>>, source: String },
    /// Any (`--insecure`).
    Insecure,
}

impl Trust {
    /// The certificates of a PEM file (`tls.crt`); an error when it holds none.
    pub fn pinned(pem: &[u8], source: String) -> Result<Trust, String> {
        let certificates: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(pem).collect::<Result<_, _>>().map_err(|err| format!("{source}: {err}"))?;
        if certificates.is_empty() {
            return Err(format!("{source} holds no PEM certificate"));
        }
        Ok(Trust::Pinned { certificates, source })
    }

    /// The client side of the handshake.
    pub fn connector(&self) -> tokio_rustls::TlsConnector {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(Verifier { trust: self.clone(), provider: provider.clone() });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }
}

#[derive(Debug)]
struct Verifier {
    trust: Trust,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.trust {
            Trust::Insecure => Ok(ServerCertVerified::assertion()),
            Trust::Pinned { certificates, .. } if certificates.iter().any(|c| c.as_ref() == end_entity.as_ref()) => {
                Ok(ServerCertVerified::assertion())
            }
            Trust::Pinned { source, .. } => Err(rustls::Error::General(format!(
                "the server's certificate is not the one in {source} (replaced, and the pod not yet restarted? \
                 --insecure checks without verifying it)"
            ))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_without_certificates_is_refused() {
        assert!(Trust::pinned(b"not a certificate", "Secret x, key tls.crt".into()).unwrap_err().contains("no PEM"));
    }
}
