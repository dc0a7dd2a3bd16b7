//! The TLS settings of `wss://` connections (rustls with *ring*).

use super::config::ClientConfig;
use crate::error::{BrpError, BrpResult};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::Arc;
use tokio_tungstenite::Connector;

/// A connector trusting the configured certificate authorities, or the
/// public (Mozilla) roots when none are configured.
pub(crate) fn connector(config: &ClientConfig) -> BrpResult<Connector> {
    let invalid = |message: String| BrpError::invalid_params(message);
    let mut pems = Vec::new();
    if let Some(pem) = &config.ca_cert_pem {
        pems.push(("ca_cert_pem".to_owned(), pem.as_bytes().to_vec()));
    }
    if let Some(path) = &config.ca_cert_path {
        let pem = std::fs::read(path)
            .map_err(|e| invalid(format!("cannot read ca_cert_path {}: {e}", path.display())))?;
        pems.push((path.display().to_string(), pem));
    }
    let mut roots = RootCertStore::empty();
    if pems.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for (source, pem) in &pems {
        let before = roots.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| invalid(format!("bad PEM in {source}: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| invalid(format!("bad CA certificate in {source}: {e}")))?;
        }
        if roots.len() == before {
            return Err(invalid(format!("no certificate in {source}")));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| BrpError::internal(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Connector::Rustls(Arc::new(tls)))
}
