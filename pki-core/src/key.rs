//! Private keys: the algorithms kpki offers, generation, PEM in and out, signing.
//!
//! Keys are written the way kubeadm writes them: RSA as PKCS#1 (`RSA PRIVATE KEY`), ECDSA as
//! SEC1 (`EC PRIVATE KEY`), and Ed25519 — which kubeadm does not have — as PKCS#8
//! (`PRIVATE KEY`). Reading accepts PKCS#1, SEC1 and PKCS#8 for every algorithm.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ECDSA_P256_SHA256_ASN1_SIGNING,
    ECDSA_P384_SHA384_ASN1_SIGNING,
};
use der::asn1::{AnyRef, OctetStringRef};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::oid;

/// A key algorithm and size, as kubeadm's `encryptionAlgorithm` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyAlgorithm {
    /// RSA with a 2048-bit modulus (kubeadm's default).
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    Rsa4096,
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// Ed25519 (beyond kubeadm; not usable for service-account keys).
    Ed25519,
}

impl KeyAlgorithm {
    /// Every algorithm, in the order `--help` lists them.
    pub const ALL: [KeyAlgorithm; 6] = [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::Rsa3072,
        KeyAlgorithm::Rsa4096,
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
    ];

    /// kubeadm's spelling (`RSA-2048`, `ECDSA-P256`, …; `ED25519` for ours).
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa2048 => "RSA-2048",
            KeyAlgorithm::Rsa3072 => "RSA-3072",
            KeyAlgorithm::Rsa4096 => "RSA-4096",
            KeyAlgorithm::EcdsaP256 => "ECDSA-P256",
            KeyAlgorithm::EcdsaP384 => "ECDSA-P384",
            KeyAlgorithm::Ed25519 => "ED25519",
        }
    }

    /// Whether kube-apiserver accepts this algorithm for the service-account signing key
    /// (it takes RSA and ECDSA only).
    pub fn usable_for_service_accounts(self) -> bool {
        self != KeyAlgorithm::Ed25519
    }

    /// Whether this is an RSA algorithm (slow to generate; worth doing in parallel).
    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096
        )
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = Error;

    /// Case-insensitive; `ECDSA` alone means P-256, as in kubeadm's `PublicKeysECDSA` days.
    fn from_str(s: &str) -> Result<Self> {
        let upper = s.trim().to_ascii_uppercase();
        let alg = match upper.as_str() {
            "RSA-2048" | "RSA2048" | "RSA" => KeyAlgorithm::Rsa2048,
            "RSA-3072" | "RSA3072" => KeyAlgorithm::Rsa3072,
            "RSA-4096" | "RSA4096" => KeyAlgorithm::Rsa4096,
            "ECDSA-P256" | "ECDSA" | "P256" | "P-256" => KeyAlgorithm::EcdsaP256,
            "ECDSA-P384" | "P384" | "P-384" => KeyAlgorithm::EcdsaP384,
            "ED25519" => KeyAlgorithm::Ed25519,
            _ => {
                return Err(Error::invalid(
                    "key algorithm",
                    format!(
                        "unknown algorithm {s:?}; expected one of {}",
                        KeyAlgorithm::ALL.map(KeyAlgorithm::name).join(", ")
                    ),
                ))
            }
        };
        Ok(alg)
    }
}

/// A private key of one of the [`KeyAlgorithm`]s.
///
/// ```
/// use pki_core::{KeyAlgorithm, PrivateKey};
/// let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
/// let pem = key.to_pem().unwrap();
/// assert!(pem.starts_with("-----BEGIN EC PRIVATE KEY-----"));
/// let again = PrivateKey::from_pem(&pem).unwrap();
/// assert_eq!(again.public_key_der(), key.public_key_der());
/// ```
pub struct PrivateKey {
    inner: Inner,
    /// SubjectPublicKeyInfo DER, computed once: it is compared and hashed often.
    spki: Vec<u8>,
}

enum Inner {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair, KeyAlgorithm),
    Ed25519(Ed25519KeyPair),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({})", self.algorithm())
    }
}

/// PKCS#8 `PrivateKeyInfo` (v1, as aws-lc writes it: no attributes), only as far as needed
/// to lift the PKCS#1 key out of it.
#[derive(Sequence)]
struct PrivateKeyInfo<'a> {
    version: u8,
    algorithm: AnyRef<'a>,
    private_key: &'a OctetStringRef,
}

fn crypto(context: &str) -> impl Fn(aws_lc_rs::error::Unspecified) -> Error + '_ {
    move |_| Error::Crypto(context.to_string())
}

impl PrivateKey {
    /// Generates a new key.
    pub fn generate(alg: KeyAlgorithm) -> Result<Self> {
        let inner = match alg {
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                let size = match alg {
                    KeyAlgorithm::Rsa2048 => KeySize::Rsa2048,
                    KeyAlgorithm::Rsa3072 => KeySize::Rsa3072,
                    _ => KeySize::Rsa4096,
                };
                Inner::Rsa(RsaKeyPair::generate(size).map_err(crypto("RSA key generation"))?)
            }
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
                let sig = ecdsa_signing(alg);
                Inner::Ecdsa(
                    EcdsaKeyPair::generate(sig).map_err(crypto("ECDSA key generation"))?,
                    alg,
                )
            }
            KeyAlgorithm::Ed25519 => Inner::Ed25519(
                Ed25519KeyPair::generate().map_err(crypto("Ed25519 key generation"))?,
            ),
        };
        Self::new(inner)
    }

    fn new(inner: Inner) -> Result<Self> {
        let spki = match &inner {
            Inner::Rsa(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Inner::Ecdsa(k, _) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Inner::Ed25519(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
        }
        .map_err(crypto("public key encoding"))?;
        Ok(PrivateKey { inner, spki })
    }

    /// Parses a PEM private key: `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY` (SEC1) or
    /// `PRIVATE KEY` (PKCS#8, RSA/ECDSA/Ed25519). Encrypted keys are refused.
    pub fn from_pem(pem_text: &str) -> Result<Self> {
        let block = pem::parse(pem_text.trim_start())
            .map_err(|e| Error::invalid("private key", format!("not a PEM private key ({e})")))?;
        let der = Zeroizing::new(block.contents().to_vec());
        let bad = |what: &str| {
            Error::invalid(
                "private key",
                format!("{what} block could not be parsed as a key"),
            )
        };
        let inner = match block.tag() {
            "RSA PRIVATE KEY" => {
                Inner::Rsa(RsaKeyPair::from_der(&der).map_err(|_| bad("RSA PRIVATE KEY"))?)
            }
            "EC PRIVATE KEY" => Self::ecdsa_from_der(&der).ok_or_else(|| bad("EC PRIVATE KEY"))?,
            "PRIVATE KEY" => {
                if let Ok(k) = RsaKeyPair::from_pkcs8(&der) {
                    Inner::Rsa(k)
                } else if let Some(k) = Self::ecdsa_from_der(&der) {
                    k
                } else if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der) {
                    Inner::Ed25519(k)
                } else {
                    return Err(Error::invalid(
                        "private key",
                        "PKCS#8 key of an unsupported type (expected RSA, ECDSA P-256/P-384 or Ed25519)",
                    ));
                }
            }
            "ENCRYPTED PRIVATE KEY" => {
                return Err(Error::invalid(
                    "private key",
                    "encrypted private keys are not supported; decrypt it first",
                ))
            }
            other => {
                return Err(Error::invalid(
                    "private key",
                    format!("PEM block is {other:?}, expected a private key"),
                ))
            }
        };
        Self::new(inner)
    }

    fn ecdsa_from_der(der: &[u8]) -> Option<Inner> {
        for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP384] {
            if let Ok(k) = EcdsaKeyPair::from_private_key_der(ecdsa_signing(alg), der) {
                return Some(Inner::Ecdsa(k, alg));
            }
        }
        None
    }

    /// The key's algorithm and size.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match &self.inner {
            Inner::Rsa(k) => match k.public_modulus_len() * 8 {
                n if n <= 2048 => KeyAlgorithm::Rsa2048,
                n if n <= 3072 => KeyAlgorithm::Rsa3072,
                _ => KeyAlgorithm::Rsa4096,
            },
            Inner::Ecdsa(_, alg) => *alg,
            Inner::Ed25519(_) => KeyAlgorithm::Ed25519,
        }
    }

    /// The PEM text, as kubeadm writes it. Held in zeroizing memory.
    pub fn to_pem(&self) -> Result<Zeroizing<String>> {
        let (tag, der): (&str, Zeroizing<Vec<u8>>) = match &self.inner {
            Inner::Rsa(k) => {
                let pkcs8: Pkcs8V1Der = k.as_der().map_err(crypto("RSA key encoding"))?;
                let info = PrivateKeyInfo::from_der(pkcs8.as_ref())
                    .map_err(|e| Error::Crypto(format!("RSA key encoding: {e}")))?;
                (
                    "RSA PRIVATE KEY",
                    Zeroizing::new(info.private_key.as_bytes().to_vec()),
                )
            }
            Inner::Ecdsa(k, _) => {
                let sec1 = k
                    .private_key()
                    .as_der()
                    .map_err(crypto("EC key encoding"))?;
                ("EC PRIVATE KEY", Zeroizing::new(sec1.as_ref().to_vec()))
            }
            Inner::Ed25519(k) => {
                let pkcs8: Pkcs8V1Der = k.as_der().map_err(crypto("Ed25519 key encoding"))?;
                ("PRIVATE KEY", Zeroizing::new(pkcs8.as_ref().to_vec()))
            }
        };
        let block = pem::Pem::new(tag, der.to_vec());
        Ok(Zeroizing::new(pem::encode_config(
            &block,
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )))
    }

    /// The public key as a DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    /// The public key as PEM `PUBLIC KEY` (what `sa.pub` holds).
    pub fn public_key_pem(&self) -> String {
        pem::encode_config(
            &pem::Pem::new("PUBLIC KEY", self.spki.clone()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    }

    /// The X.509 signature algorithm this key signs with: SHA-256 with RSA (Go's choice for
    /// every RSA size), ECDSA with SHA-256 / SHA-384 by curve, or Ed25519.
    pub fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        match &self.inner {
            Inner::Rsa(_) => AlgorithmIdentifierOwned {
                oid: oid::SHA256_WITH_RSA,
                parameters: Some(der::Any::null()),
            },
            Inner::Ecdsa(_, KeyAlgorithm::EcdsaP384) => AlgorithmIdentifierOwned {
                oid: oid::ECDSA_WITH_SHA384,
                parameters: None,
            },
            Inner::Ecdsa(..) => AlgorithmIdentifierOwned {
                oid: oid::ECDSA_WITH_SHA256,
                parameters: None,
            },
            Inner::Ed25519(_) => AlgorithmIdentifierOwned {
                oid: oid::ED25519,
                parameters: None,
            },
        }
    }

    /// Signs `message` with this key's [`signature_algorithm`](Self::signature_algorithm).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(crypto("RSA signing"))?;
                Ok(sig)
            }
            Inner::Ecdsa(k, _) => Ok(k
                .sign(&rng, message)
                .map_err(crypto("ECDSA signing"))?
                .as_ref()
                .to_vec()),
            Inner::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }

    /// Whether this key is the private half of the public key in `spki_der`.
    pub fn matches_public_key(&self, spki_der: &[u8]) -> bool {
        self.spki == spki_der
    }
}

fn ecdsa_signing(alg: KeyAlgorithm) -> &'static signature::EcdsaSigningAlgorithm {
    if alg == KeyAlgorithm::EcdsaP384 {
        &ECDSA_P384_SHA384_ASN1_SIGNING
    } else {
        &ECDSA_P256_SHA256_ASN1_SIGNING
    }
}

/// Describes a public key in a `SubjectPublicKeyInfo` (algorithm and size), for reports.
pub fn describe_public_key(spki_der: &[u8]) -> String {
    let Ok(spki) = SubjectPublicKeyInfoRef::from_der(spki_der) else {
        return "unparseable public key".into();
    };
    let alg = spki.algorithm.oid;
    if alg == oid::RSA_ENCRYPTION {
        let bits = rsa_modulus_bits(spki.subject_public_key.raw_bytes()).unwrap_or(0);
        format!("RSA-{bits}")
    } else if alg == oid::EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        match curve {
            Some(c) if c == oid::SECP256R1 => "ECDSA-P256".into(),
            Some(c) if c == oid::SECP384R1 => "ECDSA-P384".into(),
            Some(c) => format!("ECDSA ({c})"),
            None => "ECDSA".into(),
        }
    } else if alg == oid::ED25519 {
        "ED25519".into()
    } else {
        format!("unknown ({alg})")
    }
}

/// The modulus size of a PKCS#1 `RSAPublicKey`.
fn rsa_modulus_bits(pkcs1: &[u8]) -> Option<usize> {
    #[derive(Sequence)]
    struct RsaPublicKey<'a> {
        modulus: der::asn1::UintRef<'a>,
        exponent: der::asn1::UintRef<'a>,
    }
    let key = RsaPublicKey::from_der(pkcs1).ok()?;
    let bytes = key.modulus.as_bytes();
    let lead = bytes.first().map_or(0, |b| 8 - b.leading_zeros() as usize);
    Some((bytes.len().saturating_sub(1)) * 8 + lead)
}

/// Verifies `signature` over `message` with the public key in `spki_der` and the X.509
/// signature algorithm `alg`. Used to check that a certificate was signed by a CA.
pub fn verify_signature(
    spki_der: &[u8],
    alg: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature_bytes: &[u8],
) -> bool {
    let Ok(spki) = SubjectPublicKeyInfoRef::from_der(spki_der) else {
        return false;
    };
    let key_alg = spki.algorithm.oid;
    let verifier: &dyn signature::VerificationAlgorithm = match alg.oid {
        o if o == oid::SHA256_WITH_RSA => &signature::RSA_PKCS1_2048_8192_SHA256,
        o if o == oid::SHA384_WITH_RSA => &signature::RSA_PKCS1_2048_8192_SHA384,
        o if o == oid::SHA512_WITH_RSA => &signature::RSA_PKCS1_2048_8192_SHA512,
        o if o == oid::ECDSA_WITH_SHA256 || o == oid::ECDSA_WITH_SHA384 => {
            let curve = spki
                .algorithm
                .parameters
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            match (curve, o == oid::ECDSA_WITH_SHA256) {
                (Some(c), true) if c == oid::SECP256R1 => &signature::ECDSA_P256_SHA256_ASN1,
                (Some(c), false) if c == oid::SECP256R1 => &signature::ECDSA_P256_SHA384_ASN1,
                (Some(c), true) if c == oid::SECP384R1 => &signature::ECDSA_P384_SHA256_ASN1,
                (Some(c), false) if c == oid::SECP384R1 => &signature::ECDSA_P384_SHA384_ASN1,
                _ => return false,
            }
        }
        o if o == oid::ED25519 && key_alg == oid::ED25519 => &signature::ED25519,
        _ => return false,
    };
    signature::UnparsedPublicKey::new(verifier, spki.subject_public_key.raw_bytes())
        .verify(message, signature_bytes)
        .is_ok()
}

/// Encodes any DER value, mapping the (practically impossible) failure to [`Error::Crypto`].
pub(crate) fn to_der<T: Encode>(value: &T) -> Result<Vec<u8>> {
    value
        .to_der()
        .map_err(|e| Error::Crypto(format!("DER encoding: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_round_trips_through_pem_and_signs() {
        for alg in KeyAlgorithm::ALL {
            let key = PrivateKey::generate(alg).unwrap();
            assert_eq!(key.algorithm(), alg);
            let pem = key.to_pem().unwrap();
            let expected_tag = match alg {
                a if a.is_rsa() => "RSA PRIVATE KEY",
                KeyAlgorithm::Ed25519 => "PRIVATE KEY",
                _ => "EC PRIVATE KEY",
            };
            assert!(
                pem.starts_with(&format!("-----BEGIN {expected_tag}-----")),
                "{alg}"
            );
            let back = PrivateKey::from_pem(&pem).unwrap();
            assert_eq!(back.public_key_der(), key.public_key_der());
            let sig = key.sign(b"hello").unwrap();
            assert!(verify_signature(
                key.public_key_der(),
                &key.signature_algorithm(),
                b"hello",
                &sig
            ));
            assert!(!verify_signature(
                key.public_key_der(),
                &key.signature_algorithm(),
                b"hellp",
                &sig
            ));
            assert_eq!(describe_public_key(key.public_key_der()), alg.name());
        }
    }

    #[test]
    fn algorithm_names_parse_case_insensitively_and_unknown_is_an_error() {
        assert_eq!(
            "ecdsa-p384".parse::<KeyAlgorithm>().unwrap(),
            KeyAlgorithm::EcdsaP384
        );
        assert_eq!(
            "Ed25519".parse::<KeyAlgorithm>().unwrap(),
            KeyAlgorithm::Ed25519
        );
        let err = "DSA-1024".parse::<KeyAlgorithm>().unwrap_err().to_string();
        assert!(
            err.contains("DSA-1024") && err.contains("RSA-2048"),
            "{err}"
        );
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = PrivateKey::from_pem("hello").unwrap_err().to_string();
        assert!(err.contains("not a PEM private key"), "{err}");
        let err =
            PrivateKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("expected a private key"), "{err}");
    }
}
