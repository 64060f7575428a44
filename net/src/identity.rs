//! A node's network identity (JAMNP-S "Encryption and handshake"): its Ed25519
//! key, the alternative name `N(k)` derived from it, and the self-signed X.509
//! certificate that carries both.
//!
//! The certificate is written and read by hand with a minimal DER writer and walker:
//! it needs only a handful of fixed structures, and reading it ourselves lets the
//! verifiers in [`crate::tls`] say exactly why a peer's certificate was refused.

use std::fmt;

use tessera_core::crypto::ed25519::{Keypair, PublicKey};
use tessera_core::ByteArray;

/// The alphabet of `N(k)`.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// Length of `N(k)`: `e` and 52 base-32 digits.
pub const ALT_NAME_LEN: usize = 53;

/// The DER of the object identifier 1.3.101.112 (Ed25519, RFC 8410).
const OID_ED25519: &[u8] = &[0x2B, 0x65, 0x70];
/// The DER of the object identifier 2.5.29.17 (subjectAltName).
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1D, 0x11];
/// The DER of the object identifier 2.5.4.3 (commonName).
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// `N(k)`: `e` followed by the 52 base-32 digits of `k` read as a little-endian
/// 256-bit integer, least significant digit first, over the alphabet
/// `abcdefghijklmnopqrstuvwxyz234567` (JAMNP-S "Encryption and handshake").
///
/// This is not RFC 4648 base32, which reads the octets big-endian, most
/// significant bit first; some clients made that mistake and their names are
/// refused.
pub fn alt_name(key: &PublicKey) -> String {
    let k = &key.0 .0;
    let mut name = String::with_capacity(ALT_NAME_LEN);
    name.push('e');
    for digit in 0..52 {
        let mut value = 0usize;
        for bit in 0..5 {
            let i = digit * 5 + bit;
            if i < 256 && (k[i / 8] >> (i % 8)) & 1 == 1 {
                value |= 1 << bit;
            }
        }
        name.push(char::from(ALPHABET[value]));
    }
    name
}

/// The key whose `N(k)` is `name`, or `None` if `name` is not the alternative
/// name of any key (wrong length, prefix or alphabet, or bits beyond 256 set).
pub fn key_of_alt_name(name: &str) -> Option<PublicKey> {
    let bytes = name.as_bytes();
    if bytes.len() != ALT_NAME_LEN || bytes[0] != b'e' {
        return None;
    }
    let mut k = [0u8; 32];
    for (digit, c) in bytes[1..].iter().enumerate() {
        let value = ALPHABET.iter().position(|a| a == c)?;
        for bit in 0..5 {
            if (value >> bit) & 1 == 1 {
                let i = digit * 5 + bit;
                if i >= 256 {
                    return None;
                }
                k[i / 8] |= 1 << (i % 8);
            }
        }
    }
    Some(PublicKey(ByteArray(k)))
}

/// A peer, named by its Ed25519 key. Displayed as the first 12 characters of its
/// `N(k)`, the form the logs use.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub PublicKey);

impl PeerId {
    /// The peer's Ed25519 key.
    pub fn key(&self) -> &PublicKey {
        &self.0
    }

    /// The key's 32 octets.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0 .0 .0
    }

    /// `N(k)` of the peer's key.
    pub fn alt_name(&self) -> String {
        alt_name(&self.0)
    }
}

impl From<PublicKey> for PeerId {
    fn from(k: PublicKey) -> Self {
        PeerId(k)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&alt_name(&self.0)[..12])
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({self})")
    }
}

/// Our own identity: the Ed25519 keypair, its certificate and its PKCS#8 key, as
/// rustls wants them.
#[derive(Clone)]
pub struct Identity {
    keypair: Keypair,
    certificate: Vec<u8>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({})", self.peer_id())
    }
}

impl Identity {
    /// The identity of `keypair`, with a fresh self-signed certificate.
    pub fn new(keypair: Keypair) -> Self {
        let certificate = self_signed_certificate(&keypair);
        Identity {
            keypair,
            certificate,
        }
    }

    /// The identity whose RFC 8032 Ed25519 seed is `seed`.
    pub fn from_ed25519_seed(seed: [u8; 32]) -> Self {
        Self::new(Keypair::from_seed(seed))
    }

    /// Our public key as a peer id.
    pub fn peer_id(&self) -> PeerId {
        PeerId(self.keypair.public())
    }

    /// The keypair.
    pub fn keypair(&self) -> &Keypair {
        &self.keypair
    }

    /// The DER certificate.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    /// The secret key as PKCS#8 v1 DER (RFC 8410 §7), which rustls loads.
    pub fn pkcs8_der(&self) -> Vec<u8> {
        let mut out = vec![
            0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        out.extend_from_slice(&self.keypair.secret().seed());
        out
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let octets = len.to_be_bytes();
        let skip = octets.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (octets.len() - skip) as u8);
        out.extend_from_slice(&octets[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A self-signed X.509 v3 certificate for `keypair`: Ed25519 signature and key,
/// subject and issuer `CN=<N(k)>`, and one subjectAltName, the DNS name `N(k)`.
pub fn self_signed_certificate(keypair: &Keypair) -> Vec<u8> {
    certificate_with_alt_name(keypair, &alt_name(&keypair.public()))
}

/// A self-signed certificate for `keypair` whose one alternative name is `name`,
/// whatever it is: for diagnostics and for tests of refusals.
pub fn certificate_with_alt_name(keypair: &Keypair, name: &str) -> Vec<u8> {
    let ed25519 = der(0x30, &der(0x06, OID_ED25519));
    let dn = der(
        0x30,
        &der(
            0x31,
            &der(
                0x30,
                &cat(&[&der(0x06, OID_COMMON_NAME), &der(0x0C, name.as_bytes())]),
            ),
        ),
    );
    let validity = der(
        0x30,
        &cat(&[&der(0x17, b"250101000000Z"), &der(0x18, b"99991231235959Z")]),
    );
    let spki = der(
        0x30,
        &cat(&[&ed25519, &der(0x03, &cat(&[&[0], &keypair.public().0 .0]))]),
    );
    let san = der(0x30, &der(0x82, name.as_bytes()));
    let extensions = der(
        0xA3,
        &der(
            0x30,
            &der(
                0x30,
                &cat(&[&der(0x06, OID_SUBJECT_ALT_NAME), &der(0x04, &san)]),
            ),
        ),
    );
    let tbs = der(
        0x30,
        &cat(&[
            &der(0xA0, &der(0x02, &[2])),
            &der(0x02, &[1]),
            &ed25519,
            &dn,
            &validity,
            &dn,
            &spki,
            &extensions,
        ]),
    );
    let signature = keypair.sign(&tbs);
    der(
        0x30,
        &cat(&[&tbs, &ed25519, &der(0x03, &cat(&[&[0], &signature.0 .0]))]),
    )
}

/// Why a peer's certificate was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The DER could not be walked.
    #[error("malformed certificate: {0}")]
    Malformed(&'static str),
    /// The certificate's signature algorithm is not Ed25519.
    #[error("signature algorithm is not Ed25519")]
    NotEd25519Signature,
    /// The subject public key is not an Ed25519 key.
    #[error("subject public key is not Ed25519")]
    NotEd25519Key,
    /// There is no subjectAltName extension, or it names nothing.
    #[error("no subject alternative name")]
    NoAltName,
    /// More than one alternative name, or more than one subjectAltName extension.
    #[error("more than one subject alternative name")]
    SeveralAltNames,
    /// The one alternative name is not a DNS name.
    #[error("the alternative name is not a DNS name")]
    AltNameNotDns,
    /// The DNS name is not `N(k)` of the certificate's key.
    #[error("alternative name {found:?} is not N(k) = {expected}")]
    WrongAltName {
        /// The name in the certificate (lossy UTF-8).
        found: String,
        /// `N(k)` of the certificate's key.
        expected: String,
    },
    /// Not exactly one certificate was presented.
    #[error("expected exactly one certificate, got {0}")]
    ChainLength(usize),
    /// The key is not the one we dialled.
    #[error("certificate key {found} is not the expected peer {expected}")]
    UnexpectedKey {
        /// The peer we dialled.
        expected: PeerId,
        /// The certificate's key.
        found: PeerId,
    },
}

/// A DER walker over one level of a structure.
struct Der<'a> {
    bytes: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Der { bytes }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.bytes.first().copied()
    }

    /// The next TLV: its tag and content.
    fn next(&mut self) -> Result<(u8, &'a [u8]), CertificateError> {
        let err = CertificateError::Malformed("truncated DER");
        let (&tag, rest) = self.bytes.split_first().ok_or(err.clone())?;
        if tag & 0x1F == 0x1F {
            return Err(CertificateError::Malformed("multi-octet DER tag"));
        }
        let (&first, mut rest) = rest.split_first().ok_or(err.clone())?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7F);
            if n == 0 || n > 4 || rest.len() < n {
                return Err(CertificateError::Malformed("bad DER length"));
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err(err);
        }
        let (content, rest) = rest.split_at(len);
        self.bytes = rest;
        Ok((tag, content))
    }

    fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], CertificateError> {
        match self.next()? {
            (t, content) if t == tag => Ok(content),
            _ => Err(CertificateError::Malformed(what)),
        }
    }
}

/// Whether an AlgorithmIdentifier is Ed25519 with absent parameters (RFC 8410 §3).
fn is_ed25519(alg: &[u8]) -> Result<bool, CertificateError> {
    let mut d = Der::new(alg);
    let oid = d.expect(0x06, "algorithm identifier without an OID")?;
    Ok(oid == OID_ED25519 && d.is_empty())
}

/// Check a peer's certificate against JAMNP-S and return its key: Ed25519
/// signature algorithm and key, exactly one alternative name, a DNS name equal to
/// `N(k)`. Validity dates, other extensions and the self-signature are not
/// checked (JAMNP-S: "need not be verified").
pub fn verify_certificate(der: &[u8]) -> Result<PeerId, CertificateError> {
    let mut top = Der::new(der);
    let cert = top.expect(0x30, "certificate is not a SEQUENCE")?;
    if !top.is_empty() {
        return Err(CertificateError::Malformed(
            "trailing octets after certificate",
        ));
    }
    let mut cert = Der::new(cert);
    let tbs = cert.expect(0x30, "tbsCertificate is not a SEQUENCE")?;
    let outer_alg = cert.expect(0x30, "signatureAlgorithm is not a SEQUENCE")?;
    cert.expect(0x03, "signature is not a BIT STRING")?;
    if !cert.is_empty() {
        return Err(CertificateError::Malformed(
            "trailing fields in certificate",
        ));
    }
    if !is_ed25519(outer_alg)? {
        return Err(CertificateError::NotEd25519Signature);
    }

    let mut tbs = Der::new(tbs);
    if tbs.peek_tag() == Some(0xA0) {
        tbs.next()?;
    }
    tbs.expect(0x02, "serialNumber")?;
    let inner_alg = tbs.expect(0x30, "signature algorithm")?;
    if !is_ed25519(inner_alg)? {
        return Err(CertificateError::NotEd25519Signature);
    }
    tbs.expect(0x30, "issuer")?;
    tbs.expect(0x30, "validity")?;
    tbs.expect(0x30, "subject")?;
    let spki = tbs.expect(0x30, "subjectPublicKeyInfo")?;
    let mut spki = Der::new(spki);
    let key_alg = spki.expect(0x30, "subjectPublicKeyInfo algorithm")?;
    let key_bits = spki.expect(0x03, "subjectPublicKey")?;
    if !is_ed25519(key_alg)? || key_bits.len() != 33 || key_bits[0] != 0 {
        return Err(CertificateError::NotEd25519Key);
    }
    let mut k = [0u8; 32];
    k.copy_from_slice(&key_bits[1..]);
    let key = PublicKey(ByteArray(k));

    let mut names: Option<Vec<(u8, &[u8])>> = None;
    while !tbs.is_empty() {
        let (tag, content) = tbs.next()?;
        if tag != 0xA3 {
            continue; // issuerUniqueID / subjectUniqueID
        }
        let mut exts = Der::new(Der::new(content).expect(0x30, "extensions")?);
        while !exts.is_empty() {
            let mut ext = Der::new(exts.expect(0x30, "extension")?);
            let oid = ext.expect(0x06, "extension OID")?;
            if ext.peek_tag() == Some(0x01) {
                ext.next()?; // critical
            }
            let value = ext.expect(0x04, "extension value")?;
            if oid != OID_SUBJECT_ALT_NAME {
                continue;
            }
            if names.is_some() {
                return Err(CertificateError::SeveralAltNames);
            }
            let mut outer = Der::new(value);
            let mut list = Der::new(outer.expect(0x30, "GeneralNames")?);
            let mut found = Vec::new();
            while !list.is_empty() {
                found.push(list.next()?);
            }
            names = Some(found);
        }
    }
    let names = names.ok_or(CertificateError::NoAltName)?;
    let (tag, name) = match names.as_slice() {
        [] => return Err(CertificateError::NoAltName),
        [one] => *one,
        _ => return Err(CertificateError::SeveralAltNames),
    };
    if tag != 0x82 {
        return Err(CertificateError::AltNameNotDns);
    }
    let expected = alt_name(&key);
    if name != expected.as_bytes() {
        return Err(CertificateError::WrongAltName {
            found: String::from_utf8_lossy(name).into_owned(),
            expected,
        });
    }
    Ok(PeerId(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(hex_str: &str) -> PublicKey {
        let mut k = [0u8; 32];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex_str[2 * i..2 * i + 2], 16).unwrap();
        }
        PublicKey(ByteArray(k))
    }

    #[test]
    fn alt_names_of_known_keys() {
        let zero = Keypair::from_seed([0; 32]).public();
        assert_eq!(
            hex::encode(zero.0 .0),
            "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
        );
        assert_eq!(
            alt_name(&zero),
            "e3r2oc62zwfj3crnuifuvsxvbtlzetk4o5qyhetkhagsc2fgl2oka"
        );
        assert_eq!(
            alt_name(&Keypair::from_seed([1; 32]).public()),
            "ekech6otoji4lz6lk3olyd5wlstspwe4x5affrnm6udcda26bpdxa"
        );
        // JIP-5 development validator 0.
        assert_eq!(
            alt_name(&key(
                "4418fb8c85bb3985394a8c2756d3643457ce614546202a2f50b093d762499ace"
            )),
            "eecgwpgwq3noky4ijm4jmvjtmuzv44qvigciusxakq5epnrfj2utb"
        );
    }

    #[test]
    fn alt_names_round_trip_and_rfc4648_names_are_not_ours() {
        let zero = Keypair::from_seed([0; 32]).public();
        assert_eq!(key_of_alt_name(&alt_name(&zero)), Some(zero));
        // The RFC 4648 base32 of the same key, as some clients write it: it decodes
        // to a different key (or none), so a certificate carrying it is refused.
        let rfc4648 = "ehnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iuq";
        assert_ne!(key_of_alt_name(rfc4648), Some(zero));
        assert_eq!(key_of_alt_name("e3r2"), None);
        assert_eq!(key_of_alt_name(&"e".repeat(53).replace("ee", "e1")), None);
        // All 260 bits set: the top four exceed 256.
        assert_eq!(key_of_alt_name(&format!("e{}", "7".repeat(52))), None);
    }

    #[test]
    fn own_certificates_verify() {
        for seed in [[0u8; 32], [1; 32], [0xAB; 32]] {
            let id = Identity::from_ed25519_seed(seed);
            assert_eq!(verify_certificate(id.certificate_der()), Ok(id.peer_id()));
        }
    }

    #[test]
    fn certificate_with_rfc4648_name_is_refused() {
        let kp = Keypair::from_seed([0; 32]);
        let good = self_signed_certificate(&kp);
        let ours = alt_name(&kp.public());
        let rfc = "ehnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iuq";
        // Same length, so the DER lengths stay valid; the signature no longer
        // matches but it is not what refuses the certificate.
        let bad = replace_all(&good, ours.as_bytes(), rfc.as_bytes());
        assert!(matches!(
            verify_certificate(&bad),
            Err(CertificateError::WrongAltName { .. })
        ));
    }

    fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let mut out = hay.to_vec();
        let mut i = 0;
        while i + from.len() <= out.len() {
            if &out[i..i + from.len()] == from {
                out[i..i + from.len()].copy_from_slice(to);
                i += from.len();
            } else {
                i += 1;
            }
        }
        out
    }

    #[test]
    fn truncations_never_panic() {
        let cert = Identity::from_ed25519_seed([7; 32])
            .certificate_der()
            .to_vec();
        for n in 0..cert.len() {
            assert!(verify_certificate(&cert[..n]).is_err());
        }
    }
}
