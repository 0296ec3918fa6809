//! `inspect`: what a certificate, chain, CSR, key or kubeconfig holds — never a key's secret.

use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Serialize;

use crate::cert::Certificate;
use crate::csr::CertificateRequest;
use crate::error::{Error, Result};
use crate::expiry::rfc3339;
use crate::key::{describe_public_key, PrivateKey};
use crate::kubeconfig;

/// What one certificate holds.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertInfo {
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// Serial, hex.
    pub serial: String,
    /// NotBefore, RFC 3339.
    pub not_before: String,
    /// NotAfter, RFC 3339.
    pub not_after: String,
    /// Seconds left (negative once expired).
    pub residual_seconds: i64,
    /// The public key: algorithm and size.
    pub public_key: String,
    /// The signature algorithm's OID.
    pub signature_algorithm: String,
    /// Key usage names.
    pub key_usage: Vec<String>,
    /// Extended key usage names.
    pub extended_key_usage: Vec<String>,
    /// DNS SANs.
    pub dns_names: Vec<String>,
    /// IP SANs.
    pub ip_addresses: Vec<String>,
    /// Other SANs (email, URI).
    pub other_names: Vec<String>,
    /// CA:TRUE.
    pub is_ca: bool,
    /// Path length constraint.
    pub path_len: Option<u8>,
    /// Subject key identifier, hex.
    pub subject_key_id: Option<String>,
    /// Authority key identifier, hex.
    pub authority_key_id: Option<String>,
    /// SHA-256 fingerprint.
    pub sha256_fingerprint: String,
}

impl CertInfo {
    /// Describes `cert` at `now`.
    pub fn new(cert: &Certificate, now: SystemTime) -> CertInfo {
        let residual = match cert.not_after().duration_since(now) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        let mut eku: Vec<String> = cert
            .ext_key_usages()
            .iter()
            .map(|u| u.name().to_string())
            .collect();
        eku.extend(cert.other_ext_key_usages());
        let hexs = |b: Vec<u8>| crate::cert::hex(&b, ":").to_uppercase();
        CertInfo {
            subject: cert.subject_rfc4514(),
            issuer: cert.issuer_rfc4514(),
            serial: cert.serial_hex(),
            not_before: rfc3339(cert.not_before()),
            not_after: rfc3339(cert.not_after()),
            residual_seconds: residual,
            public_key: describe_public_key(&cert.public_key_der()),
            signature_algorithm: cert.signature_algorithm_oid(),
            key_usage: cert
                .key_usages()
                .iter()
                .map(|u| u.name().to_string())
                .collect(),
            extended_key_usage: eku,
            dns_names: cert.sans().dns,
            ip_addresses: cert.sans().ips.iter().map(|i| i.to_string()).collect(),
            other_names: cert.other_sans(),
            is_ca: cert.is_ca(),
            path_len: cert.basic_constraints().and_then(|(_, _, p)| p),
            subject_key_id: cert.subject_key_id().map(hexs),
            authority_key_id: cert.authority_key_id().map(hexs),
            sha256_fingerprint: cert.sha256_fingerprint(),
        }
    }
}

/// What a CSR asks for.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CsrInfo {
    /// Requested subject.
    pub subject: String,
    /// Public key.
    pub public_key: String,
    /// Requested DNS SANs.
    pub dns_names: Vec<String>,
    /// Requested IP SANs.
    pub ip_addresses: Vec<String>,
    /// Requested other SANs.
    pub other_names: Vec<String>,
    /// Whether its self-signature verifies.
    pub signature_valid: bool,
    /// From a CertificateSigningRequest manifest: its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_name: Option<String>,
    /// From a manifest: spec.signerName.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer_name: Option<String>,
    /// From a manifest: spec.usages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usages: Option<Vec<String>>,
    /// From a manifest: spec.expirationSeconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_seconds: Option<i64>,
}

impl CsrInfo {
    fn new(csr: &CertificateRequest) -> CsrInfo {
        let sans = csr.sans();
        CsrInfo {
            subject: csr.subject_name().to_string(),
            public_key: describe_public_key(&csr.public_key_der()),
            dns_names: sans.dns,
            ip_addresses: sans.ips.iter().map(|i| i.to_string()).collect(),
            other_names: csr.other_sans(),
            signature_valid: csr.signature_is_valid(),
            manifest_name: None,
            signer_name: None,
            usages: None,
            expiration_seconds: None,
        }
    }
}

/// A kubeconfig user's credentials.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeconfigUser {
    /// The user entry's name.
    pub name: String,
    /// Its client certificate, when it has one.
    pub certificate: Option<CertInfo>,
    /// Its key's algorithm, when embedded.
    pub key: Option<String>,
}

/// What a kubeconfig holds.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeconfigInfo {
    /// The current context.
    pub current_context: Option<String>,
    /// Clusters: name, server and CA.
    pub clusters: Vec<KubeconfigCluster>,
    /// Users.
    pub users: Vec<KubeconfigUser>,
}

/// A kubeconfig cluster entry.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeconfigCluster {
    /// The entry's name.
    pub name: String,
    /// The server URL.
    pub server: Option<String>,
    /// The embedded CA.
    pub certificate_authority: Option<CertInfo>,
}

/// One thing found in a file.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Inspected {
    /// A certificate (one per chain element).
    Certificate(CertInfo),
    /// A CSR, from PEM or a Kubernetes manifest.
    CertificateRequest(CsrInfo),
    /// A private key: only its algorithm and size.
    PrivateKey {
        /// Algorithm and size.
        algorithm: String,
    },
    /// A public key.
    PublicKey {
        /// Algorithm and size.
        algorithm: String,
    },
    /// A kubeconfig.
    Kubeconfig(KubeconfigInfo),
}

/// Inspects a file's bytes.
pub fn inspect(bytes: &[u8], now: SystemTime) -> Result<Vec<Inspected>> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("-----BEGIN ") {
        let blocks = pem::parse_many(text.as_bytes())
            .map_err(|e| Error::invalid("file", format!("malformed PEM ({e})")))?;
        let mut out = Vec::new();
        for b in &blocks {
            out.push(match b.tag() {
                "CERTIFICATE" => Inspected::Certificate(CertInfo::new(
                    &Certificate::from_der(b.contents())?,
                    now,
                )),
                "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => Inspected::CertificateRequest(
                    CsrInfo::new(&CertificateRequest::from_der(b.contents())?),
                ),
                "PUBLIC KEY" => Inspected::PublicKey {
                    algorithm: describe_public_key(b.contents()),
                },
                t if t.ends_with("PRIVATE KEY") => {
                    let key = PrivateKey::from_pem(&pem::encode(b))?;
                    Inspected::PrivateKey {
                        algorithm: key.algorithm().name().into(),
                    }
                }
                other => {
                    return Err(Error::invalid(
                        "file",
                        format!("PEM block {other:?} is not something kpki inspects"),
                    ))
                }
            });
        }
        return Ok(out);
    }
    if let Ok(cert) = Certificate::from_der(bytes) {
        return Ok(vec![Inspected::Certificate(CertInfo::new(&cert, now))]);
    }
    let doc: serde_json::Value = serde_saphyr::from_str(&text).map_err(|_| {
        Error::invalid(
            "file",
            "not PEM, DER, a kubeconfig or a CertificateSigningRequest",
        )
    })?;
    match doc.get("kind").and_then(|k| k.as_str()) {
        Some("Config") => Ok(vec![Inspected::Kubeconfig(inspect_kubeconfig(&text, now)?)]),
        Some("CertificateSigningRequest") => {
            Ok(vec![Inspected::CertificateRequest(inspect_manifest(&doc)?)])
        }
        _ => Err(Error::invalid(
            "file",
            "not PEM, DER, a kubeconfig or a CertificateSigningRequest",
        )),
    }
}

fn inspect_kubeconfig(text: &str, now: SystemTime) -> Result<KubeconfigInfo> {
    use secrecy::ExposeSecret;
    let kc = kubeconfig::from_yaml(text)?;
    let decode = |d: &str| {
        B64.decode(d.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    };
    let clusters = kc
        .clusters
        .iter()
        .map(|c| KubeconfigCluster {
            name: c.name.clone(),
            server: c.cluster.as_ref().and_then(|c| c.server.clone()),
            certificate_authority: c
                .cluster
                .as_ref()
                .and_then(|c| c.certificate_authority_data.as_deref())
                .and_then(decode)
                .and_then(|pem| Certificate::from_pem(&pem).ok())
                .map(|cert| CertInfo::new(&cert, now)),
        })
        .collect();
    let users = kc
        .auth_infos
        .iter()
        .map(|u| {
            let a = u.auth_info.as_ref();
            KubeconfigUser {
                name: u.name.clone(),
                certificate: a
                    .and_then(|a| a.client_certificate_data.as_deref())
                    .and_then(decode)
                    .and_then(|pem| Certificate::from_pem(&pem).ok())
                    .map(|cert| CertInfo::new(&cert, now)),
                key: a
                    .and_then(|a| a.client_key_data.as_ref())
                    .and_then(|k| decode(k.expose_secret()))
                    .and_then(|pem| PrivateKey::from_pem(&pem).ok())
                    .map(|k| k.algorithm().name().to_string()),
            }
        })
        .collect();
    Ok(KubeconfigInfo {
        current_context: kc.current_context.clone(),
        clusters,
        users,
    })
}

fn inspect_manifest(doc: &serde_json::Value) -> Result<CsrInfo> {
    let spec = doc
        .get("spec")
        .ok_or_else(|| Error::invalid("CertificateSigningRequest", "has no spec"))?;
    let request = spec
        .get("request")
        .and_then(|r| r.as_str())
        .ok_or_else(|| Error::invalid("spec.request", "missing"))?;
    let pem = B64
        .decode(request.trim())
        .map_err(|_| Error::invalid("spec.request", "is not base64"))?;
    let csr = CertificateRequest::from_pem(&String::from_utf8_lossy(&pem))?;
    let mut info = CsrInfo::new(&csr);
    info.manifest_name = doc
        .pointer("/metadata/name")
        .and_then(|n| n.as_str())
        .map(String::from);
    info.signer_name = spec
        .get("signerName")
        .and_then(|s| s.as_str())
        .map(String::from);
    info.usages = spec.get("usages").and_then(|u| u.as_array()).map(|a| {
        a.iter()
            .filter_map(|u| u.as_str().map(String::from))
            .collect()
    });
    info.expiration_seconds = spec.get("expirationSeconds").and_then(|e| e.as_i64());
    Ok(info)
}
