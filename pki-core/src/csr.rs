//! PKCS#10 certificate signing requests: reading what one asks for and checking its own
//! signature.

use der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::request::{CertReq, ExtensionReq};

use crate::cert::{Sans, Subject};
use crate::error::{Error, Result};
use crate::key;

/// A parsed CSR with its DER.
#[derive(Clone, Debug)]
pub struct CertificateRequest {
    der: Vec<u8>,
    req: CertReq,
}

impl CertificateRequest {
    /// Parses DER.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let req = CertReq::from_der(der).map_err(|e| {
            Error::invalid("certificate request", format!("not a PKCS#10 CSR ({e})"))
        })?;
        Ok(CertificateRequest {
            der: der.to_vec(),
            req,
        })
    }

    /// Parses the first `CERTIFICATE REQUEST` (or `NEW CERTIFICATE REQUEST`) PEM block.
    pub fn from_pem(text: &str) -> Result<Self> {
        let block = pem::parse_many(text)
            .map_err(|e| Error::invalid("certificate request", format!("not PEM ({e})")))?
            .into_iter()
            .find(|b| b.tag() == "CERTIFICATE REQUEST" || b.tag() == "NEW CERTIFICATE REQUEST")
            .ok_or_else(|| {
                Error::invalid(
                    "certificate request",
                    "no PEM CERTIFICATE REQUEST block found",
                )
            })?;
        Self::from_der(block.contents())
    }

    /// DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM text.
    pub fn to_pem(&self) -> String {
        pem::encode_config(
            &pem::Pem::new("CERTIFICATE REQUEST", self.der.clone()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    }

    /// CN and O values of the requested subject.
    pub fn subject(&self) -> Subject {
        Subject::from_name(&self.req.info.subject)
    }

    /// The requested subject as a name, exactly as encoded.
    pub fn subject_name(&self) -> &x509_cert::name::Name {
        &self.req.info.subject
    }

    /// The public key, DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.req.info.public_key.to_der().unwrap_or_default()
    }

    /// The requested extensions (from the extensionRequest attribute).
    pub fn extensions(&self) -> Vec<x509_cert::ext::Extension> {
        let mut out = Vec::new();
        for attr in self.req.info.attributes.iter() {
            if attr.oid != <ExtensionReq as const_oid::AssociatedOid>::OID {
                continue;
            }
            for value in attr.values.iter() {
                if let Ok(bytes) = value.to_der() {
                    if let Ok(req) = ExtensionReq::from_der(&bytes) {
                        out.extend(req.0);
                    }
                }
            }
        }
        out
    }

    fn san(&self) -> Option<SubjectAltName> {
        self.extensions()
            .into_iter()
            .find(|e| e.extn_id == crate::oid::SUBJECT_ALT_NAME)
            .and_then(|e| SubjectAltName::from_der(e.extn_value.as_bytes()).ok())
    }

    /// Requested DNS and IP SANs.
    pub fn sans(&self) -> Sans {
        let mut sans = Sans::default();
        for name in self.san().map(|s| s.0).unwrap_or_default() {
            match name {
                GeneralName::DnsName(d) => sans.dns.push(d.to_string()),
                GeneralName::IpAddress(o) => {
                    let b = o.as_bytes();
                    if let Ok(v4) = <[u8; 4]>::try_from(b) {
                        sans.ips.push(v4.into());
                    } else if let Ok(v6) = <[u8; 16]>::try_from(b) {
                        sans.ips.push(v6.into());
                    }
                }
                _ => {}
            }
        }
        sans
    }

    /// Requested email and URI SANs, as `email:…` / `URI:…`.
    pub fn other_sans(&self) -> Vec<String> {
        let mut out = Vec::new();
        for name in self.san().map(|s| s.0).unwrap_or_default() {
            match name {
                GeneralName::Rfc822Name(e) => out.push(format!("email:{e}")),
                GeneralName::UniformResourceIdentifier(u) => out.push(format!("URI:{u}")),
                _ => {}
            }
        }
        out
    }

    /// Whether the CSR is signed by the key it carries (proof of possession).
    pub fn signature_is_valid(&self) -> bool {
        let Ok(info) = self.req.info.to_der() else {
            return false;
        };
        let Some(sig) = self.req.signature.as_bytes() else {
            return false;
        };
        key::verify_signature(&self.public_key_der(), &self.req.algorithm, &info, sig)
    }
}
