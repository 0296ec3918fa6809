//! X.509 certificates: the one issuing path, and reading what a certificate holds.
//!
//! kpki builds the `TBSCertificate` itself (through `der`) rather than through a generic
//! builder, so that it controls exactly what kubeadm controls: a subject with several `O=`
//! values in Go's RDN order, the extensions and their order, random serials and backdated
//! validity.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use der::asn1::{
    BitString, GeneralizedTime, Ia5String, OctetString, PrintableString, UtcTime, Utf8StringRef,
};
use der::{Any, Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage as PkixKeyUsage,
    KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::error::{Error, Result};
use crate::key::{self, to_der, PrivateKey};
use crate::oid;

/// A certificate subject as Kubernetes reads it: the user name (CN) and the groups (O).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Subject {
    /// The common name: a Kubernetes user name, or a CA's name.
    pub common_name: String,
    /// The organizations: Kubernetes groups. Kept in the order given.
    pub organizations: Vec<String>,
}

impl Subject {
    /// A subject with a common name and no organization.
    pub fn cn(common_name: impl Into<String>) -> Self {
        Subject {
            common_name: common_name.into(),
            organizations: Vec::new(),
        }
    }

    /// A subject with a common name and organizations.
    pub fn new(common_name: impl Into<String>, organizations: &[&str]) -> Self {
        Subject {
            common_name: common_name.into(),
            organizations: organizations.iter().map(|o| o.to_string()).collect(),
        }
    }

    /// Encodes the subject as Go's `pkix.Name` does: O (all values in one RDN) before CN;
    /// PrintableString where the text allows it, UTF8String otherwise.
    pub fn to_name(&self) -> Result<Name> {
        let mut rdns = RdnSequence::default();
        if !self.organizations.is_empty() {
            let atvs = self
                .organizations
                .iter()
                .map(|o| atv(oid::O, o))
                .collect::<Result<Vec<_>>>()?;
            rdns.push(rdn(atvs)?);
        }
        if !self.common_name.is_empty() {
            rdns.push(rdn(vec![atv(oid::CN, &self.common_name)?])?);
        }
        Ok(Name::hazmat_from_rdn_sequence(rdns))
    }

    /// Reads CN and every O out of a name, in encounter order.
    pub fn from_name(name: &Name) -> Subject {
        let mut subject = Subject::default();
        for atv in name.iter() {
            let Some(text) = attribute_text(&atv.value) else {
                continue;
            };
            if atv.oid == oid::CN {
                subject.common_name = text;
            } else if atv.oid == oid::O {
                subject.organizations.push(text);
            }
        }
        subject
    }
}

impl std::fmt::Display for Subject {
    /// openssl's one-line form: `O = system:masters, CN = kubernetes-admin`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = self
            .organizations
            .iter()
            .map(|o| format!("O = {o}"))
            .collect();
        if !self.common_name.is_empty() {
            parts.push(format!("CN = {}", self.common_name));
        }
        f.write_str(&parts.join(", "))
    }
}

fn rdn(atvs: Vec<AttributeTypeAndValue>) -> Result<RelativeDistinguishedName> {
    RelativeDistinguishedName::try_from(atvs)
        .map_err(|e| Error::invalid("subject", format!("cannot encode: {e}")))
}

fn atv(oid: spki::ObjectIdentifier, text: &str) -> Result<AttributeTypeAndValue> {
    let bad = |e: der::Error| Error::invalid("subject", format!("cannot encode {text:?}: {e}"));
    let printable = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b));
    let value = if printable {
        Any::encode_from(&PrintableString::new(text).map_err(bad)?).map_err(bad)?
    } else {
        Any::encode_from(&Utf8StringRef::new(text).map_err(bad)?).map_err(bad)?
    };
    Ok(AttributeTypeAndValue { oid, value })
}

fn attribute_text(value: &Any) -> Option<String> {
    // Directory strings come as PrintableString, UTF8String, IA5String or TeletexString; all
    // are read as bytes of (at least) ASCII.
    std::str::from_utf8(value.value()).ok().map(str::to_string)
}

/// The key usages kpki sets (the bits of the `keyUsage` extension it ever needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum KeyUsage {
    /// digitalSignature
    DigitalSignature,
    /// keyEncipherment
    KeyEncipherment,
    /// keyCertSign
    CertSign,
    /// cRLSign
    CrlSign,
    /// keyAgreement
    KeyAgreement,
    /// contentCommitment (nonRepudiation)
    ContentCommitment,
    /// dataEncipherment
    DataEncipherment,
}

impl KeyUsage {
    fn flag(self) -> KeyUsages {
        match self {
            KeyUsage::DigitalSignature => KeyUsages::DigitalSignature,
            KeyUsage::KeyEncipherment => KeyUsages::KeyEncipherment,
            KeyUsage::CertSign => KeyUsages::KeyCertSign,
            KeyUsage::CrlSign => KeyUsages::CRLSign,
            KeyUsage::KeyAgreement => KeyUsages::KeyAgreement,
            KeyUsage::ContentCommitment => KeyUsages::NonRepudiation,
            KeyUsage::DataEncipherment => KeyUsages::DataEncipherment,
        }
    }
    const ALL: [KeyUsage; 7] = [
        KeyUsage::DigitalSignature,
        KeyUsage::ContentCommitment,
        KeyUsage::KeyEncipherment,
        KeyUsage::DataEncipherment,
        KeyUsage::KeyAgreement,
        KeyUsage::CertSign,
        KeyUsage::CrlSign,
    ];
    /// The name openssl prints.
    pub fn name(self) -> &'static str {
        match self {
            KeyUsage::DigitalSignature => "Digital Signature",
            KeyUsage::KeyEncipherment => "Key Encipherment",
            KeyUsage::CertSign => "Certificate Sign",
            KeyUsage::CrlSign => "CRL Sign",
            KeyUsage::KeyAgreement => "Key Agreement",
            KeyUsage::ContentCommitment => "Non Repudiation",
            KeyUsage::DataEncipherment => "Data Encipherment",
        }
    }
}

/// Extended key usages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ExtKeyUsage {
    /// TLS server authentication.
    ServerAuth,
    /// TLS client authentication.
    ClientAuth,
    /// Code signing.
    CodeSigning,
    /// Email protection (S/MIME).
    EmailProtection,
    /// Time stamping.
    TimeStamping,
    /// OCSP signing.
    OcspSigning,
}

impl ExtKeyUsage {
    /// Every extended key usage kpki knows.
    pub const ALL: [ExtKeyUsage; 6] = [
        ExtKeyUsage::ServerAuth,
        ExtKeyUsage::ClientAuth,
        ExtKeyUsage::CodeSigning,
        ExtKeyUsage::EmailProtection,
        ExtKeyUsage::TimeStamping,
        ExtKeyUsage::OcspSigning,
    ];

    fn oid(self) -> spki::ObjectIdentifier {
        let arc = match self {
            ExtKeyUsage::ServerAuth => return oid::KP_SERVER_AUTH,
            ExtKeyUsage::ClientAuth => return oid::KP_CLIENT_AUTH,
            ExtKeyUsage::CodeSigning => "1.3.6.1.5.5.7.3.3",
            ExtKeyUsage::EmailProtection => "1.3.6.1.5.5.7.3.4",
            ExtKeyUsage::TimeStamping => "1.3.6.1.5.5.7.3.8",
            ExtKeyUsage::OcspSigning => "1.3.6.1.5.5.7.3.9",
        };
        spki::ObjectIdentifier::new_unwrap(arc)
    }
    /// kubeadm / Kubernetes' name: `server auth`, `client auth`.
    pub fn name(self) -> &'static str {
        match self {
            ExtKeyUsage::ServerAuth => "server auth",
            ExtKeyUsage::ClientAuth => "client auth",
            ExtKeyUsage::CodeSigning => "code signing",
            ExtKeyUsage::EmailProtection => "email protection",
            ExtKeyUsage::TimeStamping => "timestamping",
            ExtKeyUsage::OcspSigning => "ocsp signing",
        }
    }
}

/// Subject alternative names: DNS names and IP addresses (kubeadm uses no others).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sans {
    /// DNS names, in the order they are encoded.
    pub dns: Vec<String>,
    /// IP addresses, in the order they are encoded.
    pub ips: Vec<IpAddr>,
    /// Email addresses (CSR signing copies them; kubeadm's certificates have none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    /// URIs (as above).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
}

impl Sans {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.dns.is_empty() && self.ips.is_empty() && self.emails.is_empty() && self.uris.is_empty()
    }

    /// Reads the names of a subjectAltName extension's value (DER).
    pub fn from_san_der(der: &[u8]) -> Sans {
        let mut sans = Sans::default();
        let Ok(san) = SubjectAltName::from_der(der) else {
            return sans;
        };
        for name in san.0 {
            match name {
                GeneralName::DnsName(d) => sans.dns.push(d.to_string()),
                GeneralName::Rfc822Name(e) => sans.emails.push(e.to_string()),
                GeneralName::UniformResourceIdentifier(u) => sans.uris.push(u.to_string()),
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

    /// Email and URI names as `email:…` / `URI:…`.
    pub fn other_names(&self) -> Vec<String> {
        let emails = self.emails.iter().map(|e| format!("email:{e}"));
        emails
            .chain(self.uris.iter().map(|u| format!("URI:{u}")))
            .collect()
    }

    /// The subjectAltName extension value (DER) for these names.
    pub fn to_san_der(&self) -> Result<Vec<u8>> {
        let ia5 = |kind: &str, v: &str| {
            Ia5String::new(v).map_err(|_| Error::invalid(kind, format!("{v:?} is not ASCII")))
        };
        let mut names = Vec::new();
        for d in &self.dns {
            names.push(GeneralName::DnsName(ia5("DNS name", d)?));
        }
        for e in &self.emails {
            names.push(GeneralName::Rfc822Name(ia5("email address", e)?));
        }
        for u in &self.uris {
            names.push(GeneralName::UniformResourceIdentifier(ia5("URI", u)?));
        }
        names.extend(self.ips.iter().map(|ip| GeneralName::from(*ip)));
        to_der(&SubjectAltName(names))
    }

    /// kubeadm's normalisation: DNS names sorted and deduplicated, IPs deduplicated keeping the
    /// first occurrence.
    pub fn normalized(mut self) -> Sans {
        self.dns.sort();
        self.dns.dedup();
        let mut seen = Vec::with_capacity(self.ips.len());
        self.ips.retain(|ip| {
            if seen.contains(ip) {
                false
            } else {
                seen.push(*ip);
                true
            }
        });
        self
    }

    /// Whether every name in `wanted` is present here (case-insensitive for DNS).
    pub fn covers(&self, wanted: &Sans) -> Option<String> {
        for d in &wanted.dns {
            if !self.dns.iter().any(|h| h.eq_ignore_ascii_case(d)) {
                return Some(format!("DNS:{d}"));
            }
        }
        for ip in &wanted.ips {
            if !self.ips.contains(ip) {
                return Some(format!("IP:{ip}"));
            }
        }
        None
    }
}

/// Everything that describes one certificate to issue, apart from its keys.
#[derive(Clone, Debug)]
pub struct CertificateParams {
    /// Subject (CN and O).
    pub subject: Subject,
    /// The subject exactly as encoded elsewhere (a CSR's), used instead of `subject` when
    /// set, so that signing copies it byte for byte.
    pub subject_name: Option<Name>,
    /// Whether this is a CA (`basicConstraints` CA:TRUE, `keyCertSign`, a subject key id).
    pub is_ca: bool,
    /// The `keyUsage` bits; empty means no `keyUsage` extension.
    pub key_usages: Vec<KeyUsage>,
    /// The `extKeyUsage` values, in order; empty means no `extKeyUsage` extension.
    pub ext_key_usages: Vec<ExtKeyUsage>,
    /// Subject alternative names, encoded in the order given (normalise first if wanted).
    pub sans: Sans,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// Whether a leaf gets `basicConstraints` CA:FALSE (kubeadm ≥ v1.31 does).
    pub basic_constraints_on_leaf: bool,
}

/// kubeadm's backdate: certificates start five minutes before "now", to absorb clock skew.
pub const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// Who signs a certificate being issued.
#[derive(Clone, Copy, Debug)]
pub enum Signer<'a> {
    /// The subject's own key (a root CA).
    SelfSigned(&'a PrivateKey),
    /// A CA certificate and its key.
    Ca(&'a Certificate, &'a PrivateKey),
}

/// `TBSCertificate` of RFC 5280, built by kpki (x509-cert keeps its own fields private).
#[derive(Sequence)]
struct Tbs {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Vec<Extension>>,
}

/// The signed certificate structure.
#[derive(Sequence)]
struct SignedCert {
    tbs: Tbs,
    algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// A random serial in [1, 2^63−1), as kubeadm (v1.31+) draws them.
pub fn random_serial() -> Result<Vec<u8>> {
    loop {
        let mut bytes = [0u8; 8];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::Crypto("random serial".into()))?;
        bytes[0] &= 0x7f;
        let value = u64::from_be_bytes(bytes);
        if value != 0 && value != i64::MAX as u64 {
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            return Ok(bytes[skip..].to_vec());
        }
    }
}

/// A random positive serial of at most 128 bits, as kube-controller-manager's signer draws them.
pub fn random_serial_128() -> Result<Vec<u8>> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::Crypto("random serial".into()))?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01; // never zero, and 16 bytes of DER INTEGER at most
    Ok(bytes.to_vec())
}

/// The time encoding RFC 5280 asks for: UTCTime through 2049, GeneralizedTime after.
pub(crate) fn x509_time(t: SystemTime) -> Result<Time> {
    let since = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::invalid("validity", "before 1970"))?;
    let whole = Duration::from_secs(since.as_secs());
    let bad = |e: der::Error| Error::invalid("validity", format!("{e}"));
    let dt = der::DateTime::from_unix_duration(whole).map_err(bad)?;
    if dt.year() <= 2049 {
        Ok(Time::UtcTime(UtcTime::from_date_time(dt).map_err(bad)?))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

fn extension<T: Encode>(
    id: spki::ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension> {
    let bytes = to_der(value)?;
    Ok(Extension {
        extn_id: id,
        critical,
        extn_value: OctetString::new(bytes).map_err(|e| Error::Crypto(e.to_string()))?,
    })
}

/// Go's subject key identifier: SHA-1 of the subjectPublicKey bits.
fn key_id(spki_der: &[u8]) -> Result<Vec<u8>> {
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der)
        .map_err(|e| Error::invalid("public key", format!("not a SubjectPublicKeyInfo: {e}")))?;
    let bits = spki.subject_public_key.raw_bytes();
    Ok(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, bits)
        .as_ref()
        .to_vec())
}

/// Issues a certificate: the one signing path every certificate kpki makes goes through.
///
/// `subject_public_key` is the DER `SubjectPublicKeyInfo` of the key being certified; `serial`
/// is big-endian and positive (see [`random_serial`]).
pub fn issue(
    params: &CertificateParams,
    subject_public_key: &[u8],
    serial: &[u8],
    signer: Signer<'_>,
) -> Result<Certificate> {
    let spki = SubjectPublicKeyInfoOwned::from_der(subject_public_key)
        .map_err(|e| Error::invalid("public key", format!("not a SubjectPublicKeyInfo: {e}")))?;
    let (issuer_name, signing_key, issuer_key_id) = match signer {
        Signer::SelfSigned(key) => (
            params
                .subject_name
                .clone()
                .map_or_else(|| params.subject.to_name(), Ok)?,
            key,
            None,
        ),
        Signer::Ca(ca, key) => (
            ca.cert.tbs_certificate().subject().clone(),
            key,
            ca.subject_key_id(),
        ),
    };

    let mut exts = Vec::new();
    if !params.key_usages.is_empty() {
        let mut flags = flagset::FlagSet::<KeyUsages>::default();
        for u in &params.key_usages {
            flags |= u.flag();
        }
        exts.push(extension(oid::KEY_USAGE, true, &PkixKeyUsage(flags))?);
    }
    if !params.ext_key_usages.is_empty() {
        let eku = ExtendedKeyUsage(params.ext_key_usages.iter().map(|e| e.oid()).collect());
        exts.push(extension(oid::EXT_KEY_USAGE, false, &eku)?);
    }
    if params.is_ca || params.basic_constraints_on_leaf {
        let bc = BasicConstraints {
            ca: params.is_ca,
            path_len_constraint: None,
        };
        exts.push(extension(oid::BASIC_CONSTRAINTS, true, &bc)?);
    }
    if params.is_ca {
        let ski = SubjectKeyIdentifier(
            OctetString::new(key_id(subject_public_key)?)
                .map_err(|e| Error::Crypto(e.to_string()))?,
        );
        exts.push(extension(oid::SUBJECT_KEY_ID, false, &ski)?);
    }
    if let Some(id) = issuer_key_id {
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(id).map_err(|e| Error::Crypto(e.to_string()))?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        };
        exts.push(extension(oid::AUTHORITY_KEY_ID, false, &aki)?);
    }
    if !params.sans.is_empty() {
        let mut names = Vec::new();
        for d in &params.sans.dns {
            let ia5 = Ia5String::new(d)
                .map_err(|_| Error::invalid("DNS name", format!("{d:?} is not ASCII")))?;
            names.push(GeneralName::DnsName(ia5));
        }
        names.extend(params.sans.ips.iter().map(|ip| GeneralName::from(*ip)));
        exts.push(extension(
            oid::SUBJECT_ALT_NAME,
            false,
            &SubjectAltName(names),
        )?);
    }

    let algorithm = signing_key.signature_algorithm();
    let tbs = Tbs {
        version: 2,
        serial: SerialNumber::new(serial).map_err(|e| Error::invalid("serial", e.to_string()))?,
        signature: algorithm.clone(),
        issuer: issuer_name,
        validity: Validity::new(x509_time(params.not_before)?, x509_time(params.not_after)?),
        subject: match &params.subject_name {
            Some(name) => name.clone(),
            None => params.subject.to_name()?,
        },
        spki,
        extensions: if exts.is_empty() { None } else { Some(exts) },
    };
    let tbs_der = to_der(&tbs)?;
    let signature = signing_key.sign(&tbs_der)?;
    let signed = SignedCert {
        tbs,
        algorithm,
        signature: BitString::from_bytes(&signature).map_err(|e| Error::Crypto(e.to_string()))?,
    };
    Certificate::from_der(&to_der(&signed)?)
}

/// A parsed certificate with its DER bytes.
#[derive(Clone, Debug)]
pub struct Certificate {
    der: Vec<u8>,
    cert: x509_cert::Certificate,
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Certificate {
    /// Parses DER.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let cert = x509_cert::Certificate::from_der(der).map_err(|e| {
            Error::invalid("certificate", format!("not an X.509 certificate ({e})"))
        })?;
        Ok(Certificate {
            der: der.to_vec(),
            cert,
        })
    }

    /// Parses every `CERTIFICATE` block of a PEM text (a chain: leaf first). At least one is
    /// required; blocks of other types are an error.
    pub fn chain_from_pem(text: &str) -> Result<Vec<Certificate>> {
        let blocks = pem::parse_many(text)
            .map_err(|e| Error::invalid("certificate", format!("not PEM ({e})")))?;
        if blocks.is_empty() {
            return Err(Error::invalid(
                "certificate",
                "no PEM CERTIFICATE block found",
            ));
        }
        blocks
            .iter()
            .map(|b| {
                if b.tag() != "CERTIFICATE" {
                    return Err(Error::invalid(
                        "certificate",
                        format!("PEM block is {:?}, expected CERTIFICATE", b.tag()),
                    ));
                }
                Certificate::from_der(b.contents())
            })
            .collect()
    }

    /// Parses the first certificate of a PEM text (the leaf of a chain).
    pub fn from_pem(text: &str) -> Result<Self> {
        Ok(Self::chain_from_pem(text)?.remove(0))
    }

    /// DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM text (`CERTIFICATE`, LF line endings).
    pub fn to_pem(&self) -> String {
        pem::encode_config(
            &pem::Pem::new("CERTIFICATE", self.der.clone()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    }

    fn tbs(&self) -> &x509_cert::TbsCertificate {
        self.cert.tbs_certificate()
    }

    /// Subject CN and O values.
    pub fn subject(&self) -> Subject {
        Subject::from_name(self.tbs().subject())
    }

    /// The subject exactly as encoded.
    pub fn subject_name(&self) -> &Name {
        self.tbs().subject()
    }

    /// The issuer exactly as encoded.
    pub fn tbs_issuer(&self) -> &Name {
        self.tbs().issuer()
    }

    /// Issuer CN and O values.
    pub fn issuer(&self) -> Subject {
        Subject::from_name(self.tbs().issuer())
    }

    /// The subject as RFC 4514 text (`CN=jane,O=devs`).
    pub fn subject_rfc4514(&self) -> String {
        self.tbs().subject().to_string()
    }

    /// The issuer as RFC 4514 text.
    pub fn issuer_rfc4514(&self) -> String {
        self.tbs().issuer().to_string()
    }

    /// Serial number, big-endian bytes.
    pub fn serial(&self) -> &[u8] {
        self.tbs().serial_number().as_bytes()
    }

    /// Serial as colon-free lowercase hex.
    pub fn serial_hex(&self) -> String {
        hex(self.serial(), "")
    }

    /// Start of validity.
    pub fn not_before(&self) -> SystemTime {
        self.tbs().validity().not_before.to_system_time()
    }

    /// End of validity.
    pub fn not_after(&self) -> SystemTime {
        self.tbs().validity().not_after.to_system_time()
    }

    /// The public key as DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.tbs()
            .subject_public_key_info()
            .to_der()
            .unwrap_or_default()
    }

    /// Whether `key` is the private key of this certificate.
    pub fn matches_key(&self, key: &PrivateKey) -> bool {
        key.matches_public_key(&self.public_key_der())
    }

    fn ext<'a, T: Decode<'a> + const_oid::AssociatedOid>(&'a self) -> Option<(bool, T)> {
        self.tbs().get_extension::<T>().ok().flatten()
    }

    /// Whether `basicConstraints` says CA:TRUE.
    pub fn is_ca(&self) -> bool {
        self.ext::<BasicConstraints>().is_some_and(|(_, bc)| bc.ca)
    }

    /// The `basicConstraints` extension: (critical, CA, path length), if present.
    pub fn basic_constraints(&self) -> Option<(bool, bool, Option<u8>)> {
        self.ext::<BasicConstraints>()
            .map(|(c, bc)| (c, bc.ca, bc.path_len_constraint))
    }

    /// The key usages, or empty when the extension is absent.
    pub fn key_usages(&self) -> Vec<KeyUsage> {
        match self.ext::<PkixKeyUsage>() {
            Some((_, ku)) => KeyUsage::ALL
                .into_iter()
                .filter(|u| ku.0.contains(u.flag()))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Whether the `keyUsage` extension is marked critical (None when absent).
    pub fn key_usage_critical(&self) -> Option<bool> {
        self.ext::<PkixKeyUsage>().map(|(c, _)| c)
    }

    /// The extended key usages kpki knows ([`ExtKeyUsage::ALL`]), in order; others are listed by OID in
    /// [`other_ext_key_usages`](Self::other_ext_key_usages).
    pub fn ext_key_usages(&self) -> Vec<ExtKeyUsage> {
        match self.ext::<ExtendedKeyUsage>() {
            Some((_, eku)) => eku
                .0
                .iter()
                .filter_map(|o| ExtKeyUsage::ALL.into_iter().find(|u| u.oid() == *o))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Extended key usages other than server/client auth, as dotted OIDs.
    pub fn other_ext_key_usages(&self) -> Vec<String> {
        match self.ext::<ExtendedKeyUsage>() {
            Some((_, eku)) => eku
                .0
                .iter()
                .filter(|o| !ExtKeyUsage::ALL.iter().any(|u| u.oid() == **o))
                .map(|o| o.to_string())
                .collect(),
            None => Vec::new(),
        }
    }

    /// Subject alternative names, in encoded order.
    pub fn sans(&self) -> Sans {
        self.tbs()
            .extensions()
            .and_then(|e| e.iter().find(|x| x.extn_id == oid::SUBJECT_ALT_NAME))
            .map(|x| Sans::from_san_der(x.extn_value.as_bytes()))
            .unwrap_or_default()
    }

    /// Email and URI SANs, as `email:…` / `URI:…`.
    pub fn other_sans(&self) -> Vec<String> {
        self.sans().other_names()
    }

    /// The subject key identifier, if present.
    pub fn subject_key_id(&self) -> Option<Vec<u8>> {
        self.ext::<SubjectKeyIdentifier>()
            .map(|(_, s)| s.0.as_bytes().to_vec())
    }

    /// The authority key identifier's key id, if present.
    pub fn authority_key_id(&self) -> Option<Vec<u8>> {
        self.ext::<AuthorityKeyIdentifier>()
            .and_then(|(_, a)| a.key_identifier.map(|k| k.as_bytes().to_vec()))
    }

    /// The OIDs of every extension, in order (for reports and comparisons).
    pub fn extension_oids(&self) -> Vec<String> {
        self.tbs()
            .extensions()
            .map(|e| e.iter().map(|x| x.extn_id.to_string()).collect())
            .unwrap_or_default()
    }

    /// SHA-256 of the DER, as colon-separated uppercase hex (openssl's fingerprint form).
    pub fn sha256_fingerprint(&self) -> String {
        hex(digest::digest(&digest::SHA256, &self.der).as_ref(), ":").to_uppercase()
    }

    /// The signature algorithm's OID.
    pub fn signature_algorithm_oid(&self) -> String {
        self.cert.signature_algorithm().oid.to_string()
    }

    /// Whether this certificate is self-issued and its signature verifies with its own key.
    pub fn is_self_signed(&self) -> bool {
        self.tbs().issuer() == self.tbs().subject() && self.is_signed_by(self)
    }

    /// Whether `issuer` issued this certificate: names chain and the signature verifies
    /// with the issuer's public key.
    pub fn is_issued_by(&self, issuer: &Certificate) -> bool {
        self.tbs().issuer() == issuer.tbs().subject() && self.is_signed_by(issuer)
    }

    fn is_signed_by(&self, issuer: &Certificate) -> bool {
        let Ok(tbs) = self.tbs().to_der() else {
            return false;
        };
        let Some(sig) = self.cert.signature().as_bytes() else {
            return false;
        };
        key::verify_signature(
            &issuer.public_key_der(),
            self.cert.signature_algorithm(),
            &tbs,
            sig,
        )
    }

    /// Whether `now` lies within the validity period.
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        self.not_before() <= now && now <= self.not_after()
    }
}

/// Lower-case hex with a separator.
pub(crate) fn hex(bytes: &[u8], sep: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyAlgorithm;

    #[test]
    fn a_leaf_carries_several_groups_and_chains_to_its_ca() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let ca_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let ca_params = CertificateParams {
            subject: Subject::cn("kubernetes"),
            subject_name: None,
            is_ca: true,
            key_usages: vec![
                KeyUsage::DigitalSignature,
                KeyUsage::KeyEncipherment,
                KeyUsage::CertSign,
            ],
            ext_key_usages: vec![],
            sans: Sans {
                dns: vec!["kubernetes".into()],
                ..Default::default()
            },
            not_before: now,
            not_after: now + Duration::from_secs(86400 * 3650),
            basic_constraints_on_leaf: true,
        };
        let ca = issue(
            &ca_params,
            ca_key.public_key_der(),
            &random_serial().unwrap(),
            Signer::SelfSigned(&ca_key),
        )
        .unwrap();
        assert!(ca.is_ca() && ca.is_self_signed());
        let key = PrivateKey::generate(KeyAlgorithm::Rsa2048).unwrap();
        let params = CertificateParams {
            subject: Subject::new("jane", &["qa", "devs"]),
            subject_name: None,
            is_ca: false,
            key_usages: vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment],
            ext_key_usages: vec![ExtKeyUsage::ClientAuth],
            sans: Sans::default(),
            not_before: now,
            not_after: now + Duration::from_secs(86400),
            basic_constraints_on_leaf: true,
        };
        let leaf = issue(
            &params,
            key.public_key_der(),
            &random_serial().unwrap(),
            Signer::Ca(&ca, &ca_key),
        )
        .unwrap();
        let subject = leaf.subject();
        assert_eq!(subject.common_name, "jane");
        let mut orgs = subject.organizations.clone();
        orgs.sort();
        assert_eq!(orgs, ["devs", "qa"]);
        assert!(leaf.is_issued_by(&ca) && !leaf.is_ca() && leaf.matches_key(&key));
        assert_eq!(leaf.authority_key_id(), ca.subject_key_id());
        assert_eq!(leaf.not_after(), now + Duration::from_secs(86400));
        assert_eq!(leaf.ext_key_usages(), [ExtKeyUsage::ClientAuth]);
        let back = Certificate::from_pem(&leaf.to_pem()).unwrap();
        assert_eq!(back, leaf);
        let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let stranger = issue(
            &ca_params,
            other.public_key_der(),
            &[1],
            Signer::SelfSigned(&other),
        )
        .unwrap();
        assert!(!leaf.is_issued_by(&stranger), "same name, other key");
    }

    #[test]
    fn serials_are_positive_and_below_two_to_the_63() {
        for _ in 0..200 {
            let s = random_serial().unwrap();
            assert!(s.len() <= 8 && s[0] != 0 && s[0] & 0x80 == 0 || s.len() < 8);
        }
    }
}
