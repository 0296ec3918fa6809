//! PKCS#10 certificate signing requests: reading what one asks for and checking its own
//! signature.

use der::{Decode, Encode};
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

    /// Requested subject alternative names.
    pub fn sans(&self) -> Sans {
        self.extensions()
            .into_iter()
            .find(|e| e.extn_id == crate::oid::SUBJECT_ALT_NAME)
            .map(|e| Sans::from_san_der(e.extn_value.as_bytes()))
            .unwrap_or_default()
    }

    /// Requested email and URI SANs, as `email:…` / `URI:…`.
    pub fn other_sans(&self) -> Vec<String> {
        self.sans().other_names()
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

impl CertificateRequest {
    /// Builds and signs a CSR for `key`: the subject (O values before CN, as Go writes them)
    /// and, when there are any, the SANs in an extensionRequest attribute — nothing else, as
    /// kubeadm's CSRs.
    pub fn build(
        key: &crate::PrivateKey,
        subject: &Subject,
        sans: &Sans,
    ) -> Result<CertificateRequest> {
        use der::asn1::{BitString, OctetString, SetOfVec};
        use spki::SubjectPublicKeyInfoOwned;
        use x509_cert::attr::Attribute;
        use x509_cert::ext::Extension;
        use x509_cert::request::{CertReqInfo, Version};

        let bad = |e: der::Error| Error::Crypto(format!("CSR encoding: {e}"));
        let mut attributes = SetOfVec::new();
        if !sans.is_empty() {
            let ext = Extension {
                extn_id: crate::oid::SUBJECT_ALT_NAME,
                critical: false,
                extn_value: OctetString::new(sans.to_san_der()?).map_err(bad)?,
            };
            let attr = Attribute::try_from(ExtensionReq(vec![ext])).map_err(bad)?;
            attributes.insert(attr).map_err(bad)?;
        }
        let info = CertReqInfo {
            version: Version::V1,
            subject: subject.to_name()?,
            public_key: SubjectPublicKeyInfoOwned::from_der(key.public_key_der()).map_err(bad)?,
            attributes,
        };
        let signature = key.sign(&info.to_der().map_err(bad)?)?;
        let req = CertReq {
            info,
            algorithm: key.signature_algorithm(),
            signature: BitString::from_bytes(&signature).map_err(bad)?,
        };
        Self::from_der(&req.to_der().map_err(bad)?)
    }
}
