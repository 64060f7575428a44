//! TLS 1.3 for JAMNP-S ("Encryption and handshake", "ALPN"): both sides present an
//! Ed25519 certificate whose one alternative name is `N(k)`, and both verify the
//! other's with the verifiers here. Nothing is skipped: a certificate that is not
//! Ed25519, carries another name, or (when dialling) another key than the one we
//! dialled is refused during the handshake, and the handshake signatures are
//! checked by rustls's own code, Ed25519 only.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tessera_core::Hash;

use crate::identity::{key_of_alt_name, verify_certificate, CertificateError, Identity};

/// `jamnp-s/0/H`: the protocol identifier for the chain whose genesis header hash
/// is `genesis`; `H` is its first 8 lower-case hex nibbles (JAMNP-S "ALPN").
pub fn alpn(genesis: &Hash, builder: bool) -> Vec<u8> {
    let h: String = genesis.0[..4].iter().map(|b| format!("{b:02x}")).collect();
    let mut s = format!("jamnp-s/0/{h}");
    if builder {
        s.push_str("/builder");
    }
    s.into_bytes()
}

/// The crypto provider: rustls's `ring` provider.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn refuse(e: CertificateError) -> rustls::Error {
    rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
        Arc::new(e),
    )))
}

fn check_chain(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Result<crate::PeerId, rustls::Error> {
    if !intermediates.is_empty() {
        return Err(refuse(CertificateError::ChainLength(
            intermediates.len() + 1,
        )));
    }
    verify_certificate(end_entity).map_err(refuse)
}

fn verify_tls13(
    algorithms: &WebPkiSupportedAlgorithms,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    if dss.scheme != SignatureScheme::ED25519 {
        return Err(rustls::Error::PeerMisbehaved(
            rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme,
        ));
    }
    rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
}

/// The dialling side's check of the acceptor: a JAMNP-S certificate whose key is
/// the one named by the server name we dialled, `N(k)`.
#[derive(Debug)]
pub struct JamServerVerifier {
    algorithms: WebPkiSupportedAlgorithms,
}

impl JamServerVerifier {
    /// A verifier using `provider`'s signature algorithms.
    pub fn new(provider: &CryptoProvider) -> Self {
        JamServerVerifier {
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

/// The handshake-signature methods both verifiers share: TLS 1.2 refused (QUIC
/// runs TLS 1.3 only), TLS 1.3 signatures checked by rustls's own verification,
/// and Ed25519 the one scheme offered.
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Err(rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::Tls13RequiredForQuic,
            ))
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13(&self.algorithms, message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            vec![SignatureScheme::ED25519]
        }
    };
}

impl ServerCertVerifier for JamServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let found = check_chain(end_entity, intermediates)?;
        let expected = match server_name {
            ServerName::DnsName(name) => key_of_alt_name(name.as_ref()),
            _ => None,
        }
        .ok_or(rustls::Error::General(
            "the server name we dialled is not an N(k)".into(),
        ))?;
        if found.key() != &expected {
            return Err(refuse(CertificateError::UnexpectedKey {
                expected: expected.into(),
                found,
            }));
        }
        Ok(ServerCertVerified::assertion())
    }

    handshake_signatures!();
}

/// The accepting side's check of the dialler: a client certificate is mandatory
/// and must be a JAMNP-S certificate; its key is not known in advance, so only the
/// consistency of key and name is checked.
#[derive(Debug)]
pub struct JamClientVerifier {
    algorithms: WebPkiSupportedAlgorithms,
}

impl JamClientVerifier {
    /// A verifier using `provider`'s signature algorithms.
    pub fn new(provider: &CryptoProvider) -> Self {
        JamClientVerifier {
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for JamClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        check_chain(end_entity, intermediates)?;
        Ok(ClientCertVerified::assertion())
    }

    handshake_signatures!();
}

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rustls refused the configuration (key, versions, cipher suites).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// quinn refused the rustls configuration.
    #[error("QUIC crypto configuration: {0}")]
    Quic(String),
}

/// `identity`'s certificate chain and PKCS#8 key, as rustls takes them.
pub fn cert_and_key(identity: &Identity) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    (
        vec![CertificateDer::from(identity.certificate_der().to_vec())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.pkcs8_der())),
    )
}

/// The rustls client configuration of `identity`, offering `alpn`.
pub fn client_config(identity: &Identity, alpn: Vec<u8>) -> Result<rustls::ClientConfig, TlsError> {
    let (certs, key) = cert_and_key(identity);
    client_config_raw(Some((certs, key)), alpn)
}

/// A client configuration presenting any certificate (or none), with the
/// JAMNP-S server verifier: for diagnostics and for tests of refusals.
pub fn client_config_raw(
    auth: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    alpn: Vec<u8>,
) -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let verifier = Arc::new(JamServerVerifier::new(&provider));
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match auth {
        Some((certs, key)) => builder.with_client_auth_cert(certs, key)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![alpn];
    Ok(config)
}

/// The rustls server configuration of `identity`, accepting `jamnp-s/0/H` and
/// `jamnp-s/0/H/builder` (an acceptor always allows the builder form).
pub fn server_config(
    identity: &Identity,
    genesis: &Hash,
) -> Result<rustls::ServerConfig, TlsError> {
    let (certs, key) = cert_and_key(identity);
    server_config_raw(certs, key, genesis)
}

/// A server configuration presenting any certificate, with the JAMNP-S client
/// verifier: for diagnostics and for tests of refusals.
pub fn server_config_raw(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    genesis: &Hash,
) -> Result<rustls::ServerConfig, TlsError> {
    let provider = provider();
    let verifier = Arc::new(JamClientVerifier::new(&provider));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![alpn(genesis, false), alpn(genesis, true)];
    Ok(config)
}

/// quinn's client configuration from a rustls one.
pub fn quic_client_config(config: rustls::ClientConfig) -> Result<quinn::ClientConfig, TlsError> {
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(config)
        .map_err(|e| TlsError::Quic(e.to_string()))?;
    Ok(quinn::ClientConfig::new(Arc::new(crypto)))
}

/// quinn's server configuration from a rustls one.
pub fn quic_server_config(config: rustls::ServerConfig) -> Result<quinn::ServerConfig, TlsError> {
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(config)
        .map_err(|e| TlsError::Quic(e.to_string()))?;
    Ok(quinn::ServerConfig::with_crypto(Arc::new(crypto)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_names_the_genesis_prefix() {
        let mut g = Hash::default();
        g.0[..4].copy_from_slice(&[0xAB, 0x01, 0xCD, 0xEF]);
        assert_eq!(alpn(&g, false), b"jamnp-s/0/ab01cdef");
        assert_eq!(alpn(&g, true), b"jamnp-s/0/ab01cdef/builder");
    }
}
