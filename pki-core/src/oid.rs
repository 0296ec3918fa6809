//! Object identifiers kpki writes or recognises, in one place.

use spki::ObjectIdentifier as Oid;

/// rsaEncryption.
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// sha256WithRSAEncryption.
pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
/// sha384WithRSAEncryption.
pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
/// sha512WithRSAEncryption.
pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
/// id-ecPublicKey.
pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
/// ecdsa-with-SHA256.
pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384.
pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
/// NIST P-256.
pub const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
/// NIST P-384.
pub const SECP384R1: Oid = Oid::new_unwrap("1.3.132.0.34");
/// Ed25519.
pub const ED25519: Oid = Oid::new_unwrap("1.3.101.112");

/// commonName.
pub const CN: Oid = Oid::new_unwrap("2.5.4.3");
/// organizationName.
pub const O: Oid = Oid::new_unwrap("2.5.4.10");

/// subjectKeyIdentifier.
pub const SUBJECT_KEY_ID: Oid = Oid::new_unwrap("2.5.29.14");
/// keyUsage.
pub const KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
/// subjectAltName.
pub const SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
/// basicConstraints.
pub const BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
/// authorityKeyIdentifier.
pub const AUTHORITY_KEY_ID: Oid = Oid::new_unwrap("2.5.29.35");
/// extKeyUsage.
pub const EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");

/// id-kp-serverAuth.
pub const KP_SERVER_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.1");
/// id-kp-clientAuth.
pub const KP_CLIENT_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.2");
