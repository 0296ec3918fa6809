//! Signing CSRs as kube-controller-manager's signers do (reference §7): the rules of each
//! `signerName`, the usages vocabulary of the certificates API, and the certificate a signer
//! issues.

use std::time::{Duration, SystemTime};

use crate::cert::{self, Certificate, CertificateParams, ExtKeyUsage, KeyUsage, Signer};
use crate::csr::CertificateRequest;
use crate::error::{Error, Result};
use crate::key::PrivateKey;

/// `kubernetes.io/kube-apiserver-client`: client certificates for users of the API server.
pub const KUBE_APISERVER_CLIENT: &str = "kubernetes.io/kube-apiserver-client";
/// `kubernetes.io/kube-apiserver-client-kubelet`: kubelets' client certificates.
pub const KUBE_APISERVER_CLIENT_KUBELET: &str = "kubernetes.io/kube-apiserver-client-kubelet";
/// `kubernetes.io/kubelet-serving`: kubelets' serving certificates.
pub const KUBELET_SERVING: &str = "kubernetes.io/kubelet-serving";
/// `kubernetes.io/legacy-unknown`: not allowed through certificates.k8s.io/v1.
pub const LEGACY_UNKNOWN: &str = "kubernetes.io/legacy-unknown";

/// What a usage string of the certificates API means in a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// A keyUsage bit.
    Key(KeyUsage),
    /// An extKeyUsage value.
    Ext(ExtKeyUsage),
    /// Valid in the API, but nothing kpki puts in a certificate.
    Unsupported,
}

/// The usages the certificates API accepts, and what each becomes.
pub fn usage(name: &str) -> Option<Usage> {
    Some(match name {
        "digital signature" | "signing" => Usage::Key(KeyUsage::DigitalSignature),
        "content commitment" => Usage::Key(KeyUsage::ContentCommitment),
        "key encipherment" => Usage::Key(KeyUsage::KeyEncipherment),
        "key agreement" => Usage::Key(KeyUsage::KeyAgreement),
        "data encipherment" => Usage::Key(KeyUsage::DataEncipherment),
        "cert sign" => Usage::Key(KeyUsage::CertSign),
        "crl sign" => Usage::Key(KeyUsage::CrlSign),
        "server auth" => Usage::Ext(ExtKeyUsage::ServerAuth),
        "client auth" => Usage::Ext(ExtKeyUsage::ClientAuth),
        "code signing" => Usage::Ext(ExtKeyUsage::CodeSigning),
        "email protection" | "s/mime" => Usage::Ext(ExtKeyUsage::EmailProtection),
        "timestamping" => Usage::Ext(ExtKeyUsage::TimeStamping),
        "ocsp signing" => Usage::Ext(ExtKeyUsage::OcspSigning),
        "encipher only" | "decipher only" | "any" | "ipsec end system" | "ipsec tunnel"
        | "ipsec user" | "microsoft sgc" | "netscape sgc" => Usage::Unsupported,
        _ => return None,
    })
}

/// A request to sign: what a `CertificateSigningRequest`'s spec says.
#[derive(Clone, Debug)]
pub struct SignRequest<'a> {
    /// The PKCS#10 request.
    pub csr: &'a CertificateRequest,
    /// `spec.signerName`.
    pub signer_name: &'a str,
    /// `spec.usages`.
    pub usages: &'a [String],
    /// `spec.expirationSeconds`.
    pub expiration_seconds: Option<i64>,
}

/// Why a request is refused: the field at fault and the reason, worded like the API server
/// and the signer word them.
pub type Refusal = Error;

fn refuse(field: &str, message: impl Into<String>) -> Refusal {
    Error::invalid(field, message)
}

fn same_set(usages: &[String], allowed: &[&[&str]]) -> bool {
    let mut got: Vec<&str> = usages.iter().map(String::as_str).collect();
    got.sort();
    allowed.iter().any(|set| {
        let mut want = set.to_vec();
        want.sort();
        want == got
    })
}

/// Checks a request against the API's validation and its signer's rules. `allow_system_masters`
/// lets a request for the `system:masters` group through (kpki refuses it by default: that
/// group bypasses all authorization and cannot be revoked).
pub fn check(req: &SignRequest<'_>, allow_system_masters: bool) -> Result<(), Refusal> {
    // API validation (every signer).
    let signer = req.signer_name;
    let qualified = signer.split_once('/').is_some_and(|(domain, path)| {
        domain.contains('.') && !path.is_empty() && !domain.is_empty()
    });
    if !qualified {
        return Err(refuse(
            "spec.signerName",
            format!("{signer:?} must be a fully qualified name like example.com/signer-name"),
        ));
    }
    if signer == LEGACY_UNKNOWN {
        return Err(refuse(
            "spec.signerName",
            "the legacy signerName is not allowed via this API version",
        ));
    }
    if req.usages.is_empty() {
        return Err(refuse("spec.usages", "at least one usage is required"));
    }
    for (i, u) in req.usages.iter().enumerate() {
        if usage(u).is_none() {
            return Err(refuse(
                &format!("spec.usages[{i}]"),
                format!("unsupported usage {u:?}"),
            ));
        }
        if req.usages[..i].contains(u) {
            return Err(refuse(
                &format!("spec.usages[{i}]"),
                format!("duplicate usage {u:?}"),
            ));
        }
    }
    if let Some(secs) = req.expiration_seconds {
        if secs < 600 {
            return Err(refuse(
                "spec.expirationSeconds",
                format!("{secs} is less than the minimum of 600 seconds (10 minutes)"),
            ));
        }
    }
    if !req.csr.signature_is_valid() {
        return Err(refuse(
            "spec.request",
            "the CSR's signature does not verify with its own public key",
        ));
    }
    let subject = req.csr.subject();
    if subject.organizations.iter().any(|o| o == "system:masters") && !allow_system_masters {
        return Err(refuse(
            "spec.request",
            "asks for the group system:masters, which bypasses all authorization and cannot be revoked; bind a ClusterRole instead, or pass --allow-system-masters",
        ));
    }

    // The signer's own rules.
    let sans = req.csr.sans();
    let node_subject = || -> Result<(), Refusal> {
        if subject.organizations != ["system:nodes"] {
            return Err(refuse(
                "spec.request",
                format!(
                    "subject organization must be exactly [system:nodes], not {:?}",
                    subject.organizations
                ),
            ));
        }
        if !subject.common_name.starts_with("system:node:") {
            return Err(refuse(
                "spec.request",
                format!(
                    "subject common name must begin with \"system:node:\", not {:?}",
                    subject.common_name
                ),
            ));
        }
        Ok(())
    };
    match signer {
        KUBE_APISERVER_CLIENT => {
            if !req.usages.iter().any(|u| u == "client auth") {
                return Err(refuse(
                    "spec.usages",
                    "a client certificate must include \"client auth\"",
                ));
            }
            if let Some(u) = req.usages.iter().find(|u| {
                !["client auth", "digital signature", "key encipherment"].contains(&u.as_str())
            }) {
                return Err(refuse(
                    "spec.usages",
                    format!("invalid usage for client certificate: {u}"),
                ));
            }
        }
        KUBE_APISERVER_CLIENT_KUBELET => {
            node_subject()?;
            if !sans.is_empty() {
                return Err(refuse(
                    "spec.request",
                    "a kubelet client certificate must not have DNS, IP, email or URI SANs",
                ));
            }
            let allowed: &[&[&str]] = &[
                &["digital signature", "key encipherment", "client auth"],
                &["digital signature", "client auth"],
            ];
            if !same_set(req.usages, allowed) {
                return Err(refuse("spec.usages", format!("usages did not match [client auth digital signature key encipherment]: {:?}", req.usages)));
            }
        }
        KUBELET_SERVING => {
            node_subject()?;
            if sans.dns.is_empty() && sans.ips.is_empty() {
                return Err(refuse(
                    "spec.request",
                    "a kubelet serving certificate needs at least one DNS or IP SAN",
                ));
            }
            if !sans.emails.is_empty() || !sans.uris.is_empty() {
                return Err(refuse(
                    "spec.request",
                    "a kubelet serving certificate must not have email or URI SANs",
                ));
            }
            let allowed: &[&[&str]] = &[
                &["digital signature", "key encipherment", "server auth"],
                &["digital signature", "server auth"],
            ];
            if !same_set(req.usages, allowed) {
                return Err(refuse("spec.usages", format!("usages did not match [digital signature key encipherment server auth]: {:?}", req.usages)));
            }
        }
        _ => {} // a custom signer: its own policy; kpki signs what the API validation allows.
    }
    Ok(())
}

/// The signer's default and maximum duration (`--cluster-signing-duration`).
pub const DEFAULT_SIGNING_DURATION: Duration = Duration::from_secs(365 * 86400);

/// Issues the certificate kube-controller-manager's signer issues for an accepted request:
/// NotBefore five minutes ago; a lifetime of min(expirationSeconds, `max_duration`), at least
/// ten minutes; for lifetimes of 8 h or more NotAfter is NotBefore + lifetime; NotAfter never
/// beyond the CA's; subject and every SAN copied; usages from the request; CSR extensions
/// dropped; CA:FALSE; a random 128-bit serial.
pub fn sign(
    req: &SignRequest<'_>,
    ca_cert: &Certificate,
    ca_key: &PrivateKey,
    now: SystemTime,
    max_duration: Duration,
) -> Result<Certificate> {
    if ca_cert.not_after() <= now {
        return Err(Error::invalid(
            "CA",
            "the signing CA has expired; refusing to sign",
        ));
    }
    if !ca_cert.matches_key(ca_key) {
        return Err(Error::invalid(
            "CA",
            "the CA key does not match the CA certificate",
        ));
    }
    let backdate = cert::BACKDATE;
    let mut ttl = max_duration;
    if let Some(secs) = req.expiration_seconds {
        ttl = ttl.min(Duration::from_secs(secs.max(0) as u64));
    }
    ttl = ttl.max(Duration::from_secs(600));
    let not_before = now - backdate;
    let mut not_after = if ttl >= Duration::from_secs(8 * 3600) {
        not_before + ttl
    } else {
        now + ttl
    };
    not_after = not_after.min(ca_cert.not_after());

    let mut key_usages = Vec::new();
    let mut ext_key_usages = Vec::new();
    for u in req.usages {
        match usage(u) {
            Some(Usage::Key(k)) if !key_usages.contains(&k) => key_usages.push(k),
            Some(Usage::Ext(e)) if !ext_key_usages.contains(&e) => ext_key_usages.push(e),
            _ => {}
        }
    }
    let params = CertificateParams {
        subject: req.csr.subject(),
        subject_name: Some(req.csr.subject_name().clone()),
        is_ca: false,
        key_usages,
        ext_key_usages,
        sans: req.csr.sans(),
        not_before,
        not_after,
        basic_constraints_on_leaf: true,
    };
    cert::issue(
        &params,
        &req.csr.public_key_der(),
        &cert::random_serial_128()?,
        Signer::Ca(ca_cert, ca_key),
    )
}
