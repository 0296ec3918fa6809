//! Building a cluster's PKI: what `kpki init`, `certs init` and `kubeconfig init` do, in
//! memory.
//!
//! [`build`] takes the configuration, the files that already exist (a [`Tree`], empty for a
//! new cluster) and a [`Selection`]; it checks every existing file against kubeadm's rules
//! (reference §6), generates the missing keys in parallel, issues the missing certificates and
//! kubeconfigs, and returns them as new files plus a log of [`Event`]s. Nothing is written:
//! writing is [`store::commit`](crate::store::commit)'s job, so a provisioning tool can keep the
//! whole PKI in memory.

use std::collections::BTreeMap;
use std::time::SystemTime;

use rayon::prelude::*;

use crate::cert::{self, Certificate, Sans, Signer};
use crate::config::ClusterConfig;
use crate::error::{Error, Result};
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::kubeconfig::{self, Kubeconfig};
use crate::spec::{CertSpec, KubeconfigSpec, KUBEADM_KUBECONFIGS, SA_KEY, SA_PUB};
use crate::tree::{Dirs, File, FileKind, Location, Tree};

/// Which parts of the PKI to build.
#[derive(Clone, Debug)]
pub struct Selection {
    /// Certificates by table entry.
    pub certs: Vec<&'static CertSpec>,
    /// The service-account key pair.
    pub service_account: bool,
    /// Kubeconfig files by table entry.
    pub kubeconfigs: Vec<&'static KubeconfigSpec>,
}

impl Selection {
    /// Everything: `kpki init`.
    pub fn all(config: &ClusterConfig) -> Selection {
        Selection {
            certs: CertSpec::for_cluster(config).collect(),
            service_account: true,
            kubeconfigs: KUBEADM_KUBECONFIGS.iter().collect(),
        }
    }

    /// Every certificate and the service-account keys: `kpki certs init`.
    pub fn certs(config: &ClusterConfig) -> Selection {
        Selection {
            kubeconfigs: Vec::new(),
            ..Selection::all(config)
        }
    }

    /// Every kubeconfig: `kpki kubeconfig init`.
    pub fn kubeconfigs() -> Selection {
        Selection {
            certs: Vec::new(),
            service_account: false,
            kubeconfigs: KUBEADM_KUBECONFIGS.iter().collect(),
        }
    }

    /// Certificates by phase name (`apiserver`, `etcd-ca`, `sa`, …), checked against the table.
    pub fn certs_named(config: &ClusterConfig, names: &[String]) -> Result<Selection> {
        let mut sel = Selection {
            certs: Vec::new(),
            service_account: false,
            kubeconfigs: Vec::new(),
        };
        for name in names {
            if name == "sa" {
                sel.service_account = true;
                continue;
            }
            let spec = CertSpec::by_name(name).ok_or_else(|| {
                let known: Vec<&str> = crate::spec::KUBEADM_CERTS.iter().map(|s| s.name).collect();
                Error::invalid(
                    "certificate name",
                    format!(
                        "unknown certificate {name:?}; expected one of {}, sa",
                        known.join(", ")
                    ),
                )
            })?;
            if spec.local_etcd_only && config.external_etcd {
                return Err(Error::invalid(
                    "certificate name",
                    format!("{name} is not made with external etcd (etcd.external is set)"),
                ));
            }
            if !sel.certs.contains(&spec) {
                sel.certs.push(spec);
            }
        }
        Ok(sel)
    }

    /// Kubeconfigs by name (`admin` or `admin.conf`).
    pub fn kubeconfigs_named(names: &[String]) -> Result<Selection> {
        let mut sel = Selection {
            certs: Vec::new(),
            service_account: false,
            kubeconfigs: Vec::new(),
        };
        for name in names {
            let spec = KubeconfigSpec::by_name(name).ok_or_else(|| {
                let known: Vec<&str> = KUBEADM_KUBECONFIGS.iter().map(|s| s.file).collect();
                Error::invalid(
                    "kubeconfig name",
                    format!(
                        "unknown kubeconfig {name:?}; expected one of {}",
                        known.join(", ")
                    ),
                )
            })?;
            if !sel.kubeconfigs.contains(&spec) {
                sel.kubeconfigs.push(spec);
            }
        }
        Ok(sel)
    }
}

/// What happened to one item, in the order kubeadm reports it. `name` is a certificate's path
/// base as kubeadm prints it (`etcd/server`); `file` a kubeconfig's file name.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A certificate and key were generated; `sans` is set for serving certificates.
    GeneratedCert {
        /// The certificate.
        name: &'static str,
        /// The SANs it was signed for.
        sans: Option<Sans>,
    },
    /// A certificate was issued for a key that already existed (the certificate was missing).
    ReissuedCertForExistingKey {
        /// The certificate.
        name: &'static str,
    },
    /// An existing certificate and key were checked and kept.
    UsingExistingCert {
        /// The certificate.
        name: &'static str,
    },
    /// An existing CA was kept.
    UsingExistingCa {
        /// The CA.
        name: &'static str,
    },
    /// A CA whose key is absent: its certificates must all exist already.
    ExternalCa {
        /// The CA.
        name: &'static str,
    },
    /// The service-account key pair was generated.
    GeneratedServiceAccount,
    /// `sa.key` existed and was kept.
    UsingExistingServiceAccount,
    /// `sa.pub` was missing and was derived from the existing `sa.key`.
    RestoredServiceAccountPublicKey,
    /// A kubeconfig was written.
    WroteKubeconfig {
        /// The kubeconfig.
        file: &'static str,
    },
    /// An existing kubeconfig was checked and kept.
    UsingExistingKubeconfig {
        /// The kubeconfig.
        file: &'static str,
    },
    /// A partial kubeconfig was completed with its externally signed certificate.
    CompletedKubeconfig {
        /// The kubeconfig.
        file: &'static str,
    },
}

/// The result of [`build`]: new files to write, what was done, and warnings.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Files to create (none of them exists in the input tree).
    pub files: Vec<File>,
    /// What was done, in order.
    pub events: Vec<Event>,
    /// Non-fatal findings (an existing certificate outside its validity, a different server).
    pub warnings: Vec<String>,
    /// The kubeconfigs that were built, by file name, as values.
    pub kubeconfigs: BTreeMap<&'static str, Kubeconfig>,
    /// Existing files to replace: partial kubeconfigs (`certs generate-csr`) completed with
    /// the certificate an external CA signed.
    pub completed: Vec<File>,
}

impl Outcome {
    /// The new file at `path` in `location`, if it was made.
    pub fn file(&self, location: Location, path: &str) -> Option<&File> {
        self.files
            .iter()
            .find(|f| f.location == location && f.path == path)
    }

    /// The new files as a [`Tree`].
    pub fn to_tree(&self) -> Tree {
        let mut tree = Tree::new();
        for f in &self.files {
            tree.insert(f.location, f.path.clone(), f.contents.clone());
        }
        tree
    }
}

/// A CA as loaded or made: its certificate and, unless external, its key.
struct Ca {
    cert: Certificate,
    key: Option<PrivateKey>,
}

/// The jobs that need a fresh key, decided before any key is generated so that all keys of
/// a tree can be generated at once, in parallel.
enum Job {
    NewCa(&'static CertSpec),
    CaCertForExistingKey(&'static CertSpec, PrivateKey),
    NewLeaf(&'static CertSpec),
    CertForExistingKey(&'static CertSpec, PrivateKey),
    NewServiceAccount,
    ServiceAccountPub(PrivateKey),
    NewKubeconfig(&'static KubeconfigSpec),
}

impl Job {
    fn needs_key(&self, config: &ClusterConfig) -> Option<KeyAlgorithm> {
        match self {
            Job::NewCa(_) | Job::NewLeaf(_) | Job::NewKubeconfig(_) => Some(config.key_algorithm),
            Job::NewServiceAccount => Some(config.sa_key_algorithm),
            Job::CaCertForExistingKey(..)
            | Job::CertForExistingKey(..)
            | Job::ServiceAccountPub(_) => None,
        }
    }
}

/// Generates keys in parallel (RSA generation dominates the time of a whole tree).
pub fn generate_keys(algorithms: &[KeyAlgorithm]) -> Result<Vec<PrivateKey>> {
    algorithms
        .par_iter()
        .map(|a| PrivateKey::generate(*a))
        .collect()
}

struct Builder<'a> {
    config: &'a ClusterConfig,
    existing: &'a Tree,
    dirs: Dirs,
    now: SystemTime,
    cas: BTreeMap<&'static str, Ca>,
    out: Outcome,
}

/// Builds what `selection` asks for on top of `existing` at time `now`.
///
/// ```
/// use std::time::SystemTime;
/// use pki_core::{config::ClusterConfig, pki, tree::{Location, Tree}, KeyAlgorithm};
/// let config = ClusterConfig::for_localhost(KeyAlgorithm::EcdsaP256);
/// let out = pki::build(&config, &Tree::new(), &pki::Selection::all(&config), SystemTime::now()).unwrap();
/// assert!(out.file(Location::CertDir, "apiserver.crt").is_some());
/// assert!(out.kubeconfigs.contains_key("admin.conf"));
/// ```
pub fn build(
    config: &ClusterConfig,
    existing: &Tree,
    selection: &Selection,
    now: SystemTime,
) -> Result<Outcome> {
    let mut b = Builder {
        config,
        existing,
        dirs: Dirs {
            cert_dir: config.cert_dir.clone(),
            kubeconfig_dir: config.kubeconfig_dir.clone(),
        },
        now,
        cas: BTreeMap::new(),
        out: Outcome::default(),
    };
    let jobs = b.plan(selection)?;
    let algorithms: Vec<KeyAlgorithm> = jobs.iter().filter_map(|j| j.needs_key(config)).collect();
    let mut keys = generate_keys(&algorithms)?.into_iter();
    for job in jobs {
        let key = if job.needs_key(config).is_some() {
            keys.next()
        } else {
            None
        };
        b.run(job, key)?;
    }
    b.out.events.sort_by_key(Event::order);
    Ok(b.out)
}

/// One row of the plan `kpki certs list` shows: what a certificate or kubeconfig will be.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedItem {
    /// Phase name (`apiserver`) or kubeconfig file name (`admin.conf`).
    pub name: String,
    /// The file, relative to its directory.
    pub file: String,
    /// The signing CA's name, empty for a CA.
    pub ca: String,
    /// Subject common name.
    pub common_name: String,
    /// Subject organizations.
    pub organizations: Vec<String>,
    /// Extended key usages (`server auth`, `client auth`).
    pub usages: Vec<String>,
    /// DNS SANs, in encoded order.
    pub dns_names: Vec<String>,
    /// IP SANs, in encoded order.
    pub ip_addresses: Vec<String>,
    /// Validity in seconds.
    pub validity_seconds: u64,
    /// Whether it is a CA.
    pub is_ca: bool,
}

/// The plan for `config`: every certificate of the table and every kubeconfig's client
/// certificate, as they would be issued.
pub fn plan(config: &ClusterConfig) -> Vec<PlannedItem> {
    let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30);
    let row = |name: String, file: String, ca: &str, p: cert::CertificateParams| PlannedItem {
        name,
        file,
        ca: ca.to_string(),
        common_name: p.subject.common_name.clone(),
        organizations: p.subject.organizations.clone(),
        usages: p
            .ext_key_usages
            .iter()
            .map(|u| u.name().to_string())
            .collect(),
        dns_names: p.sans.dns.clone(),
        ip_addresses: p.sans.ips.iter().map(|i| i.to_string()).collect(),
        validity_seconds: p
            .not_after
            .duration_since(now)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        is_ca: p.is_ca,
    };
    let mut rows: Vec<PlannedItem> = CertSpec::for_cluster(config)
        .map(|s| {
            row(
                s.name.into(),
                s.cert_file(),
                s.ca.unwrap_or(""),
                s.params(config, now),
            )
        })
        .collect();
    rows.extend(
        KUBEADM_KUBECONFIGS
            .iter()
            .map(|k| row(k.file.into(), k.file.into(), "ca", k.params(config, now))),
    );
    rows
}

impl Event {
    /// Table order: certificates as kubeadm lists them, then the service-account keys, then
    /// kubeconfigs.
    fn order(&self) -> (u8, usize) {
        let cert_index = |name: &str| {
            crate::spec::KUBEADM_CERTS
                .iter()
                .position(|s| s.base == name)
                .unwrap_or(usize::MAX)
        };
        let kc_index = |file: &str| {
            KUBEADM_KUBECONFIGS
                .iter()
                .position(|s| s.file == file)
                .unwrap_or(usize::MAX)
        };
        match self {
            Event::GeneratedCert { name, .. }
            | Event::ReissuedCertForExistingKey { name }
            | Event::UsingExistingCert { name }
            | Event::UsingExistingCa { name }
            | Event::ExternalCa { name } => (0, cert_index(name)),
            Event::GeneratedServiceAccount
            | Event::UsingExistingServiceAccount
            | Event::RestoredServiceAccountPublicKey => (1, 0),
            Event::WroteKubeconfig { file }
            | Event::UsingExistingKubeconfig { file }
            | Event::CompletedKubeconfig { file } => (2, kc_index(file)),
        }
    }
}

impl Builder<'_> {
    fn path(&self, location: Location, rel: &str) -> std::path::PathBuf {
        self.dirs.path(location, rel)
    }

    fn read_cert(&self, rel: &str) -> Result<Option<Certificate>> {
        self.existing
            .text(Location::CertDir, rel)
            .map(|t| {
                Certificate::from_pem(&t).map_err(|e| e.in_file(self.path(Location::CertDir, rel)))
            })
            .transpose()
    }

    fn read_key(&self, rel: &str) -> Result<Option<PrivateKey>> {
        self.existing
            .text(Location::CertDir, rel)
            .map(|t| {
                PrivateKey::from_pem(&t).map_err(|e| e.in_file(self.path(Location::CertDir, rel)))
            })
            .transpose()
    }

    fn file_error(&self, rel: &str, message: impl Into<String>) -> Error {
        Error::file(self.path(Location::CertDir, rel), message)
    }

    fn check_period(&mut self, cert: &Certificate, rel: &str) {
        if !cert.is_valid_at(self.now) {
            let p = self.path(Location::CertDir, rel);
            self.out.warnings.push(format!(
                "{}: the certificate is outside its validity period",
                p.display()
            ));
        }
    }

    /// Decides what to do for every selected item, checking existing files on the way.
    fn plan(&mut self, selection: &Selection) -> Result<Vec<Job>> {
        let mut jobs = Vec::new();

        // The CAs: those selected, and those the selected leaves and kubeconfigs need.
        let mut needed: Vec<&'static str> = Vec::new();
        for spec in &selection.certs {
            needed.push(spec.ca.unwrap_or(spec.name));
        }
        if !selection.kubeconfigs.is_empty() {
            needed.push("ca");
        }
        for spec in
            CertSpec::for_cluster(self.config).filter(|s| s.is_ca() && needed.contains(&s.name))
        {
            let selected = selection.certs.contains(&spec);
            let cert = self.read_cert(&spec.cert_file())?;
            let key = self.read_key(&spec.key_file())?;
            match (cert, key) {
                (Some(cert), key) => {
                    if !cert.is_ca() {
                        return Err(self.file_error(
                            &spec.cert_file(),
                            "exists but is not a CA certificate (basicConstraints CA:TRUE missing)",
                        ));
                    }
                    if let Some(k) = &key {
                        if !cert.matches_key(k) {
                            return Err(self.file_error(
                                &spec.key_file(),
                                format!("does not match {}", spec.cert_file()),
                            ));
                        }
                    }
                    self.check_period(&cert, &spec.cert_file());
                    if selected {
                        self.out.events.push(if key.is_some() {
                            Event::UsingExistingCa { name: spec.base }
                        } else {
                            Event::ExternalCa { name: spec.base }
                        });
                    }
                    self.cas.insert(spec.name, Ca { cert, key });
                }
                // A CA key without its certificate (e.g. a run interrupted between the two):
                // self-signing the same subject with the same key again yields a CA that
                // verifies everything the old one signed.
                (None, Some(key)) if selected => jobs.push(Job::CaCertForExistingKey(spec, key)),
                (None, Some(_)) => {
                    return Err(self.file_error(
                        &spec.key_file(),
                        format!(
                            "exists without {}; restore the certificate, or run kpki certs init {}",
                            spec.cert_file(),
                            spec.name
                        ),
                    ))
                }
                (None, None) if selected => jobs.push(Job::NewCa(spec)),
                (None, None) => {
                    return Err(Error::file(
                        self.path(Location::CertDir, &spec.cert_file()),
                        format!(
                            "the {} CA is missing; create it first (kpki certs init {})",
                            spec.name, spec.name
                        ),
                    ))
                }
            }
        }

        for spec in selection.certs.iter().filter(|s| !s.is_ca()) {
            let ca_name = spec.ca.expect("leaf has a CA");
            let ca_is_new = !self.cas.contains_key(ca_name);
            let external = self.cas.get(ca_name).is_some_and(|ca| ca.key.is_none());
            let cert = self.read_cert(&spec.cert_file())?;
            let key = self.read_key(&spec.key_file())?;
            match (cert, key) {
                (None, None) if external => {
                    return Err(Error::file(
                        self.path(Location::CertDir, &spec.cert_file()),
                        format!(
                            "is missing and cannot be signed: the {ca_name} CA's key is absent (external CA); provide {} and {} signed by it",
                            spec.cert_file(),
                            spec.key_file()
                        ),
                    ))
                }
                (None, None) => jobs.push(Job::NewLeaf(spec)),
                (Some(_), None) => {
                    return Err(self.file_error(
                        &spec.cert_file(),
                        format!("exists but {} is missing; restore the key, or remove both to make a new pair", spec.key_file()),
                    ))
                }
                (None, Some(key)) if external => {
                    let _ = key;
                    return Err(Error::file(
                        self.path(Location::CertDir, &spec.cert_file()),
                        format!("is missing and cannot be signed: the {ca_name} CA's key is absent (external CA)"),
                    ));
                }
                (None, Some(key)) => jobs.push(Job::CertForExistingKey(spec, key)),
                (Some(cert), Some(key)) => {
                    if ca_is_new {
                        return Err(self.file_error(
                            &spec.cert_file(),
                            format!("exists but its CA {} does not; it cannot be verified", CertSpec::by_name(ca_name).map(|c| c.cert_file()).unwrap_or_default()),
                        ));
                    }
                    self.check_existing_leaf(spec, &cert, &key)?;
                    self.check_period(&cert, &spec.cert_file());
                    self.out.events.push(Event::UsingExistingCert { name: spec.base });
                }
            }
        }

        if selection.service_account {
            match (self.read_key(SA_KEY)?, self.existing.contains(Location::CertDir, SA_PUB)) {
                (Some(key), true) => {
                    let text = self.existing.text(Location::CertDir, SA_PUB).unwrap_or_default();
                    let block = pem::parse(text.trim_start())
                        .ok()
                        .filter(|b| b.tag() == "PUBLIC KEY")
                        .ok_or_else(|| self.file_error(SA_PUB, "is not a PEM PUBLIC KEY"))?;
                    if !key.matches_public_key(block.contents()) {
                        return Err(self.file_error(SA_PUB, format!("does not match {SA_KEY}")));
                    }
                    self.out.events.push(Event::UsingExistingServiceAccount);
                }
                (Some(key), false) => jobs.push(Job::ServiceAccountPub(key)),
                (None, true) => {
                    return Err(self.file_error(
                        SA_PUB,
                        format!("exists without {SA_KEY}; restore the key, or remove {SA_PUB} to make a new pair"),
                    ))
                }
                (None, false) => jobs.push(Job::NewServiceAccount),
            }
        }

        for spec in &selection.kubeconfigs {
            match self.existing.text(Location::KubeconfigDir, spec.file) {
                Some(text) => {
                    self.check_existing_kubeconfig(spec, &text)?;
                    self.out
                        .events
                        .push(Event::UsingExistingKubeconfig { file: spec.file });
                }
                None => {
                    if self.cas.get("ca").is_some_and(|ca| ca.key.is_none()) {
                        return Err(Error::file(
                            self.path(Location::KubeconfigDir, spec.file),
                            "is missing and cannot be signed: ca.key is absent (external CA); provide the kubeconfig file",
                        ));
                    }
                    jobs.push(Job::NewKubeconfig(spec));
                }
            }
        }
        Ok(jobs)
    }

    /// kubeadm's checks on an existing leaf: key matches, chains to its CA, covers the SANs
    /// the config now wants.
    fn check_existing_leaf(
        &self,
        spec: &CertSpec,
        cert: &Certificate,
        key: &PrivateKey,
    ) -> Result<()> {
        if !cert.matches_key(key) {
            return Err(self.file_error(
                &spec.key_file(),
                format!("does not match {}", spec.cert_file()),
            ));
        }
        let ca_name = spec.ca.expect("leaf");
        let ca = &self.cas[ca_name];
        if !cert.is_issued_by(&ca.cert) {
            let ca_file = CertSpec::by_name(ca_name)
                .map(|c| c.cert_file())
                .unwrap_or_default();
            return Err(self.file_error(
                &spec.cert_file(),
                format!(
                    "is not signed by {ca_file} (issuer {:?}); it belongs to another CA",
                    cert.issuer_rfc4514()
                ),
            ));
        }
        if let Some(missing) = cert.sans().covers(&spec.sans(self.config)) {
            return Err(self.file_error(
                &spec.cert_file(),
                format!("does not cover {missing}, which the configuration requires; renew or remove it"),
            ));
        }
        Ok(())
    }

    /// kubeadm's check on an existing kubeconfig: its cluster CA must be ca.crt. A partial
    /// kubeconfig (a key, no certificate: `certs generate-csr`) is completed with the
    /// certificate an external CA signed, `<file>.crt` beside it.
    fn check_existing_kubeconfig(
        &mut self,
        spec: &'static KubeconfigSpec,
        text: &str,
    ) -> Result<()> {
        let path = self.path(Location::KubeconfigDir, spec.file);
        let kc = kubeconfig::from_yaml(text).map_err(|e| e.in_file(&path))?;
        let current = kubeconfig::current_context(&kc).map_err(|e| e.in_file(&path))?;
        if current.client_cert_pem.is_none() && current.client_cert_file.is_none() {
            return self.complete_partial_kubeconfig(spec, kc, &current);
        }
        let ca = &self.cas["ca"].cert;
        match &current.ca_pem {
            Some(pem) if kubeconfig::same_pem(pem, &ca.to_pem()) => {}
            Some(_) => {
                return Err(Error::file(
                    &path,
                    "its certificate-authority-data is not the cluster CA (ca.crt); it belongs to another cluster",
                ))
            }
            None => {
                return Err(Error::file(&path, "has no certificate-authority-data to compare with ca.crt"));
            }
        }
        let want = spec.server(self.config);
        if current.server.as_deref() != Some(want.as_str()) {
            self.out.warnings.push(format!(
                "{}: server is {}, the configuration says {want}; keeping the file",
                path.display(),
                current.server.as_deref().unwrap_or("unset")
            ));
        }
        Ok(())
    }

    fn complete_partial_kubeconfig(
        &mut self,
        spec: &'static KubeconfigSpec,
        kc: Kubeconfig,
        current: &kubeconfig::CurrentContext,
    ) -> Result<()> {
        let path = self.path(Location::KubeconfigDir, spec.file);
        let signed = format!("{}.crt", spec.file);
        let signed_path = self.path(Location::KubeconfigDir, &signed);
        let Some(pem) = self.existing.text(Location::KubeconfigDir, &signed) else {
            return Err(Error::file(
                &path,
                format!("has no client certificate; sign {}.csr with the CA and put the certificate at {}", spec.file, signed_path.display()),
            ));
        };
        let cert = Certificate::from_pem(&pem).map_err(|e| e.in_file(&signed_path))?;
        let key_pem = current
            .client_key_pem
            .as_deref()
            .ok_or_else(|| Error::file(&path, "has neither a client certificate nor a key"))?;
        let key = PrivateKey::from_pem(key_pem).map_err(|e| e.in_file(&path))?;
        if !cert.matches_key(&key) {
            return Err(Error::file(
                &signed_path,
                format!("does not match the key in {}", spec.file),
            ));
        }
        let ca = &self.cas["ca"].cert;
        if !cert.is_issued_by(ca) {
            return Err(Error::file(&signed_path, "is not signed by ca.crt"));
        }
        let want = crate::spec::CommonName::resolve(spec.user, self.config);
        if cert.subject().common_name != want {
            return Err(Error::file(
                &signed_path,
                format!("is for {:?}, expected {want:?}", cert.subject().common_name),
            ));
        }
        let yaml = kubeconfig::to_yaml(&kubeconfig::complete(kc, ca, &cert)?)?;
        self.out.completed.push(File {
            location: Location::KubeconfigDir,
            path: spec.file.into(),
            kind: FileKind::Kubeconfig,
            contents: yaml.into_bytes(),
        });
        self.out
            .events
            .push(Event::CompletedKubeconfig { file: spec.file });
        Ok(())
    }

    fn push(&mut self, location: Location, path: String, kind: FileKind, contents: Vec<u8>) {
        self.out.files.push(File {
            location,
            path,
            kind,
            contents,
        });
    }

    fn push_pair(
        &mut self,
        spec: &CertSpec,
        cert: &Certificate,
        key: Option<&PrivateKey>,
    ) -> Result<()> {
        self.push(
            Location::CertDir,
            spec.cert_file(),
            FileKind::Certificate,
            cert.to_pem().into_bytes(),
        );
        if let Some(key) = key {
            self.push(
                Location::CertDir,
                spec.key_file(),
                FileKind::PrivateKey,
                key.to_pem()?.as_bytes().to_vec(),
            );
        }
        Ok(())
    }

    fn sign_leaf(&self, spec: &CertSpec, key: &PrivateKey) -> Result<Certificate> {
        let ca = &self.cas[spec.ca.expect("leaf")];
        let ca_key = ca.key.as_ref().expect("checked in plan: CA key present");
        cert::issue(
            &spec.params(self.config, self.now),
            key.public_key_der(),
            &cert::random_serial()?,
            Signer::Ca(&ca.cert, ca_key),
        )
    }

    fn run(&mut self, job: Job, key: Option<PrivateKey>) -> Result<()> {
        match job {
            Job::NewCa(spec) => {
                let key = key.expect("planned");
                let cert = cert::issue(
                    &spec.params(self.config, self.now),
                    key.public_key_der(),
                    &cert::random_serial()?,
                    Signer::SelfSigned(&key),
                )?;
                self.push_pair(spec, &cert, Some(&key))?;
                self.out.events.push(Event::GeneratedCert {
                    name: spec.base,
                    sans: None,
                });
                self.cas.insert(
                    spec.name,
                    Ca {
                        cert,
                        key: Some(key),
                    },
                );
            }
            Job::CaCertForExistingKey(spec, key) => {
                let cert = cert::issue(
                    &spec.params(self.config, self.now),
                    key.public_key_der(),
                    &cert::random_serial()?,
                    Signer::SelfSigned(&key),
                )?;
                self.push_pair(spec, &cert, None)?;
                self.out
                    .events
                    .push(Event::ReissuedCertForExistingKey { name: spec.base });
                self.cas.insert(
                    spec.name,
                    Ca {
                        cert,
                        key: Some(key),
                    },
                );
            }
            Job::NewLeaf(spec) => {
                let key = key.expect("planned");
                let cert = self.sign_leaf(spec, &key)?;
                self.push_pair(spec, &cert, Some(&key))?;
                let sans = (!cert.sans().is_empty()).then(|| cert.sans());
                self.out.events.push(Event::GeneratedCert {
                    name: spec.base,
                    sans,
                });
            }
            Job::CertForExistingKey(spec, existing_key) => {
                let cert = self.sign_leaf(spec, &existing_key)?;
                self.push_pair(spec, &cert, None)?;
                self.out
                    .events
                    .push(Event::ReissuedCertForExistingKey { name: spec.base });
            }
            Job::NewServiceAccount => {
                let key = key.expect("planned");
                self.push(
                    Location::CertDir,
                    SA_KEY.into(),
                    FileKind::PrivateKey,
                    key.to_pem()?.as_bytes().to_vec(),
                );
                self.push(
                    Location::CertDir,
                    SA_PUB.into(),
                    FileKind::PublicKey,
                    key.public_key_pem().into_bytes(),
                );
                self.out.events.push(Event::GeneratedServiceAccount);
            }
            Job::ServiceAccountPub(existing_key) => {
                self.push(
                    Location::CertDir,
                    SA_PUB.into(),
                    FileKind::PublicKey,
                    existing_key.public_key_pem().into_bytes(),
                );
                self.out.events.push(Event::RestoredServiceAccountPublicKey);
            }
            Job::NewKubeconfig(spec) => {
                let key = key.expect("planned");
                let ca = &self.cas["ca"];
                let ca_key = ca.key.as_ref().expect("checked in plan: CA key present");
                let user = spec.user.resolve(self.config);
                let client = cert::issue(
                    &spec.params(self.config, self.now),
                    key.public_key_der(),
                    &cert::random_serial()?,
                    Signer::Ca(&ca.cert, ca_key),
                )?;
                let kc = kubeconfig::build(
                    &self.config.cluster_name,
                    &spec.server(self.config),
                    &ca.cert,
                    &user,
                    &client,
                    &key,
                )?;
                let yaml = kubeconfig::to_yaml(&kc)?;
                self.push(
                    Location::KubeconfigDir,
                    spec.file.into(),
                    FileKind::Kubeconfig,
                    yaml.into_bytes(),
                );
                self.out.kubeconfigs.insert(spec.file, kc);
                self.out
                    .events
                    .push(Event::WroteKubeconfig { file: spec.file });
            }
        }
        Ok(())
    }
}
