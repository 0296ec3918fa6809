//! `certificates.k8s.io/v1` `CertificateSigningRequest` objects, as k8s-openapi types: making
//! one for `kubectl apply`, reading one (`kubectl get csr -o yaml|json`), approving it with a
//! certificate, and taking the certificate out.

use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition, CertificateSigningRequestSpec,
    CertificateSigningRequestStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::ByteString;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cert::Certificate;
use crate::csr::CertificateRequest;
use crate::error::{Error, Result};

/// A manifest asking `signer_name` to sign `csr`, named `name`.
pub fn new(
    name: &str,
    csr: &CertificateRequest,
    signer_name: &str,
    usages: &[String],
    expiration_seconds: Option<i64>,
) -> Result<CertificateSigningRequest> {
    let expiration = expiration_seconds
        .map(|s| {
            i32::try_from(s).map_err(|_| {
                Error::invalid(
                    "--expiration",
                    "longer than the API allows (about 68 years)",
                )
            })
        })
        .transpose()?;
    Ok(CertificateSigningRequest {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: CertificateSigningRequestSpec {
            request: ByteString(csr.to_pem().into_bytes()),
            signer_name: signer_name.into(),
            usages: Some(usages.to_vec()),
            expiration_seconds: expiration,
            ..Default::default()
        },
        status: None,
    })
}

/// Reads a manifest from YAML or JSON (`kubectl get csr NAME -o yaml|json`).
pub fn parse(text: &str) -> Result<CertificateSigningRequest> {
    let value: serde_json::Value = serde_saphyr::from_str(text).map_err(|e| {
        Error::invalid(
            "manifest",
            format!(
                "not YAML or JSON: {}",
                e.to_string().lines().next().unwrap_or("")
            ),
        )
    })?;
    if value.get("kind").and_then(|k| k.as_str()) != Some("CertificateSigningRequest") {
        return Err(Error::invalid(
            "manifest",
            "kind is not CertificateSigningRequest",
        ));
    }
    let api = value
        .get("apiVersion")
        .and_then(|k| k.as_str())
        .unwrap_or("");
    if api != "certificates.k8s.io/v1" {
        return Err(Error::invalid(
            "manifest",
            format!("apiVersion {api:?}; expected certificates.k8s.io/v1"),
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        Error::invalid(path, e.into_inner().to_string())
    })
}

/// The PKCS#10 request a manifest carries.
pub fn request(manifest: &CertificateSigningRequest) -> Result<CertificateRequest> {
    let text = String::from_utf8_lossy(&manifest.spec.request.0);
    CertificateRequest::from_pem(&text).map_err(|e| {
        Error::invalid(
            "spec.request",
            e.to_string().replace("certificate request: ", ""),
        )
    })
}

fn condition(
    type_: &str,
    reason: &str,
    message: &str,
    now: SystemTime,
) -> CertificateSigningRequestCondition {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let t = k8s_openapi::jiff::Timestamp::from_second(secs)
        .ok()
        .map(Time);
    CertificateSigningRequestCondition {
        type_: type_.into(),
        status: "True".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_update_time: t.clone(),
        last_transition_time: t,
    }
}

/// The manifest approved and issued: an `Approved` condition and `status.certificate`.
pub fn issued(
    mut manifest: CertificateSigningRequest,
    cert: &Certificate,
    now: SystemTime,
) -> CertificateSigningRequest {
    manifest.status = Some(CertificateSigningRequestStatus {
        certificate: Some(ByteString(cert.to_pem().into_bytes())),
        conditions: Some(vec![condition(
            "Approved",
            "KpkiApprove",
            "This CSR was approved and signed by kpki csr sign",
            now,
        )]),
    });
    manifest
}

/// The issued certificate's PEM; an error quoting the condition when the request was denied or
/// failed, or saying it is not issued yet.
pub fn certificate(manifest: &CertificateSigningRequest) -> Result<String> {
    let name = manifest.metadata.name.clone().unwrap_or_default();
    let status = manifest.status.as_ref();
    for c in status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
    {
        if (c.type_ == "Denied" || c.type_ == "Failed") && c.status == "True" {
            return Err(Error::invalid(
                format!("CertificateSigningRequest {name}"),
                format!(
                    "{} ({}): {}",
                    c.type_.to_lowercase(),
                    c.reason.clone().unwrap_or_default(),
                    c.message.clone().unwrap_or_default()
                ),
            ));
        }
    }
    let approved = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Approved" && c.status == "True")
        });
    match status.and_then(|s| s.certificate.as_ref()).filter(|c| !c.0.is_empty()) {
        Some(pem) => {
            let text = String::from_utf8_lossy(&pem.0).into_owned();
            Certificate::chain_from_pem(&text).map_err(|e| Error::invalid("status.certificate", e.to_string()))?;
            Ok(text)
        }
        None if approved => Err(Error::invalid(
            format!("CertificateSigningRequest {name}"),
            "approved but not issued yet: its signer has not signed it (is kube-controller-manager signing this signerName?)",
        )),
        None => Err(Error::invalid(
            format!("CertificateSigningRequest {name}"),
            "not issued yet: approve it first (kubectl certificate approve)",
        )),
    }
}

/// YAML for `kubectl apply -f`.
pub fn to_yaml(manifest: &CertificateSigningRequest) -> Result<String> {
    let value =
        serde_json::to_value(manifest).map_err(|e| Error::Crypto(format!("manifest: {e}")))?;
    crate::yaml::to_string(&value)
}
