//! Building a cluster's PKI: what `kpki init`, `certs init` and `kubeconfig init` do, in
//! memory.
//!
//! [`build`] takes a [`Layout`] (a profile resolved for one cluster), the files that already
//! exist (a [`Tree`], empty for a new cluster) and a [`Selection`]; it checks every existing
//! file against kubeadm's rules (reference §6), generates the missing keys in parallel, issues
//! the missing certificates and kubeconfigs, and returns them as new files plus a log of
//! [`Event`]s. Nothing is written: writing is [`store::commit`](crate::store::commit)'s job, so
//! a provisioning tool can keep the whole PKI in memory.

use std::collections::BTreeMap;
use std::time::SystemTime;

use rayon::prelude::*;

use crate::cert::{self, Certificate, Sans, Signer};
use crate::error::{Error, Result};
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::kubeconfig::{self, Kubeconfig};
use crate::layout::{CertEntry, ClientCert, KubeconfigEntry, Layout};
use crate::tree::{Dirs, File, FileKind, Location, Tree};

/// Which parts of the PKI to build, by entry name.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Certificates by name.
    pub certs: Vec<String>,
    /// The service-account key pair.
    pub service_account: bool,
    /// Kubeconfig files by file name.
    pub kubeconfigs: Vec<String>,
}

impl Selection {
    /// Everything: `kpki init`.
    pub fn all(layout: &Layout) -> Selection {
        Selection {
            certs: layout.certs.iter().map(|c| c.name.clone()).collect(),
            service_account: layout.service_account.is_some(),
            kubeconfigs: layout.kubeconfigs.iter().map(|k| k.file.clone()).collect(),
        }
    }

    /// Every certificate and the service-account keys: `kpki certs init`.
    pub fn certs(layout: &Layout) -> Selection {
        Selection {
            kubeconfigs: Vec::new(),
            ..Selection::all(layout)
        }
    }

    /// Every kubeconfig: `kpki kubeconfig init`.
    pub fn kubeconfigs(layout: &Layout) -> Selection {
        Selection {
            certs: Vec::new(),
            service_account: false,
            ..Selection::all(layout)
        }
    }

    /// Certificates by name (`apiserver`, `etcd-ca`, `sa`, `worker-3`…), checked against the
    /// layout.
    pub fn certs_named(layout: &Layout, names: &[String]) -> Result<Selection> {
        let mut sel = Selection::default();
        for name in names {
            if name == "sa" && layout.service_account.is_some() {
                sel.service_account = true;
                continue;
            }
            let entry = layout.cert(name).ok_or_else(|| {
                let mut known: Vec<&str> = layout
                    .certs
                    .iter()
                    .map(|s| s.name.as_str())
                    .take(12)
                    .collect();
                if layout.certs.len() > 12 {
                    known.push("…");
                }
                if layout.service_account.is_some() {
                    known.push("sa");
                }
                Error::invalid(
                    "certificate name",
                    format!(
                        "unknown certificate {name:?}; expected one of {}",
                        known.join(", ")
                    ),
                )
            })?;
            if !sel.certs.contains(&entry.name) {
                sel.certs.push(entry.name.clone());
            }
        }
        Ok(sel)
    }

    /// Kubeconfigs by name (`admin` or `admin.conf`).
    pub fn kubeconfigs_named(layout: &Layout, names: &[String]) -> Result<Selection> {
        let mut sel = Selection::default();
        for name in names {
            let entry = layout.kubeconfig(name).ok_or_else(|| {
                let known: Vec<&str> = layout
                    .kubeconfigs
                    .iter()
                    .map(|s| s.file.as_str())
                    .take(12)
                    .collect();
                Error::invalid(
                    "kubeconfig name",
                    format!(
                        "unknown kubeconfig {name:?}; expected one of {}",
                        known.join(", ")
                    ),
                )
            })?;
            if !sel.kubeconfigs.contains(&entry.file) {
                sel.kubeconfigs.push(entry.file.clone());
            }
        }
        Ok(sel)
    }
}

/// What happened to one item. `name` is a certificate's path base as kubeadm prints it
/// (`etcd/server`); `file` a kubeconfig's file name.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A certificate and key were generated; `sans` is set for serving certificates.
    GeneratedCert {
        /// The certificate.
        name: String,
        /// The SANs it was signed for.
        sans: Option<Sans>,
    },
    /// A certificate was issued for a key that already existed (the certificate was missing).
    ReissuedCertForExistingKey {
        /// The certificate.
        name: String,
    },
    /// An existing certificate and key were checked and kept.
    UsingExistingCert {
        /// The certificate.
        name: String,
    },
    /// An existing CA was kept.
    UsingExistingCa {
        /// The CA.
        name: String,
    },
    /// A CA whose key is absent: its certificates must all exist already.
    ExternalCa {
        /// The CA.
        name: String,
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
        file: String,
    },
    /// An existing kubeconfig was checked and kept.
    UsingExistingKubeconfig {
        /// The kubeconfig.
        file: String,
    },
    /// A partial kubeconfig was completed with its externally signed certificate.
    CompletedKubeconfig {
        /// The kubeconfig.
        file: String,
    },
}

/// The result of [`build`]: new files to write, what was done, and warnings.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Files to create (none of them exists in the input tree).
    pub files: Vec<File>,
    /// What was done, in table order.
    pub events: Vec<Event>,
    /// Non-fatal findings (an existing certificate outside its validity, a different server).
    pub warnings: Vec<String>,
    /// The kubeconfigs that were built, by file name, as values.
    pub kubeconfigs: BTreeMap<String, Kubeconfig>,
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

/// A certificate and (unless its CA is external) its key, as loaded or made.
struct Pair {
    cert: Certificate,
    key: Option<PrivateKey>,
}

/// What to do for one item, decided before any key is generated so that all keys of a tree
/// can be generated at once, in parallel.
enum Job<'l> {
    NewCa(&'l CertEntry),
    CaCertForExistingKey(&'l CertEntry, PrivateKey),
    NewLeaf(&'l CertEntry),
    CertForExistingKey(&'l CertEntry, PrivateKey),
    NewServiceAccount,
    ServiceAccountPub(PrivateKey),
    NewKubeconfig(&'l KubeconfigEntry),
}

impl Job<'_> {
    fn phase(&self) -> u8 {
        match self {
            Job::NewCa(_) | Job::CaCertForExistingKey(..) => 0,
            Job::NewLeaf(_)
            | Job::CertForExistingKey(..)
            | Job::NewServiceAccount
            | Job::ServiceAccountPub(_) => 1,
            Job::NewKubeconfig(_) => 2,
        }
    }

    fn needs_key(&self, layout: &Layout) -> Option<KeyAlgorithm> {
        match self {
            Job::NewCa(e) | Job::NewLeaf(e) => Some(e.key_algorithm),
            Job::NewKubeconfig(k) => match &k.client {
                ClientCert::Own { key_algorithm, .. } => Some(*key_algorithm),
                ClientCert::Entry(_) => None,
            },
            Job::NewServiceAccount => layout.service_account.as_ref().map(|s| s.key_algorithm),
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
    layout: &'a Layout,
    existing: &'a Tree,
    dirs: &'a Dirs,
    now: SystemTime,
    /// CAs and the leaves that kubeconfigs embed, by entry name.
    pairs: BTreeMap<String, Pair>,
    out: Outcome,
}

/// Builds what `selection` asks for on top of `existing` at time `now`.
///
/// ```
/// use std::time::SystemTime;
/// use pki_core::{config::ClusterConfig, pki, spec, tree::{Dirs, Location, Tree}, KeyAlgorithm};
/// let config = ClusterConfig::for_localhost(KeyAlgorithm::EcdsaP256);
/// let layout = spec::kubeadm_layout(&config);
/// let dirs = Dirs::from(&config);
/// let out = pki::build(&layout, &dirs, &Tree::new(), &pki::Selection::all(&layout), SystemTime::now()).unwrap();
/// assert!(out.file(Location::CertDir, "apiserver.crt").is_some());
/// assert!(out.kubeconfigs.contains_key("admin.conf"));
/// ```
pub fn build(
    layout: &Layout,
    dirs: &Dirs,
    existing: &Tree,
    selection: &Selection,
    now: SystemTime,
) -> Result<Outcome> {
    build_with_progress(layout, dirs, existing, selection, now, &|_| {})
}

/// What [`build_with_progress`] reports as it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Work is known: this many keys to generate and items to issue.
    Planned {
        /// Keys to generate.
        keys: usize,
        /// Certificates and kubeconfigs to issue.
        items: usize,
    },
    /// One key was generated.
    Key,
    /// One certificate or kubeconfig was issued.
    Item,
}

/// [`build`], reporting progress (from several threads) — for progress bars on bulk work.
pub fn build_with_progress(
    layout: &Layout,
    dirs: &Dirs,
    existing: &Tree,
    selection: &Selection,
    now: SystemTime,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Outcome> {
    let mut b = Builder {
        layout,
        existing,
        dirs,
        now,
        pairs: BTreeMap::new(),
        out: Outcome::default(),
    };
    let jobs = b.plan(selection)?;
    let algorithms: Vec<KeyAlgorithm> = jobs.iter().filter_map(|j| j.needs_key(layout)).collect();
    progress(Progress::Planned {
        keys: algorithms.len(),
        items: jobs.len(),
    });
    let keys: Vec<PrivateKey> = algorithms
        .par_iter()
        .map(|a| {
            let k = PrivateKey::generate(*a);
            progress(Progress::Key);
            k
        })
        .collect::<Result<_>>()?;
    let mut keys = keys.into_iter();
    let mut paired: Vec<(Job, Option<PrivateKey>)> = Vec::with_capacity(jobs.len());
    for job in jobs {
        let key = if job.needs_key(layout).is_some() {
            keys.next()
        } else {
            None
        };
        paired.push((job, key));
    }
    // Three phases — CAs, then what they sign, then kubeconfigs that embed it — each issued in
    // parallel (thousands of workers) and applied in order.
    for phase in 0..3u8 {
        let batch: Vec<(Job, Option<PrivateKey>)> = {
            let (now_batch, later): (Vec<_>, Vec<_>) =
                paired.into_iter().partition(|(j, _)| j.phase() == phase);
            paired = later;
            now_batch
        };
        let issued: Vec<Issued> = batch
            .into_par_iter()
            .map(|(job, key)| {
                let item = b.issue(job, key);
                progress(Progress::Item);
                item
            })
            .collect::<Result<_>>()?;
        for item in issued {
            b.apply(item);
        }
    }
    let order = |e: &Event| -> (u8, usize) {
        let cert = |name: &str| {
            layout
                .certs
                .iter()
                .position(|c| c.base == name)
                .unwrap_or(usize::MAX)
        };
        let kc = |file: &str| {
            layout
                .kubeconfigs
                .iter()
                .position(|k| k.file == file)
                .unwrap_or(usize::MAX)
        };
        match e {
            Event::GeneratedCert { name, .. }
            | Event::ReissuedCertForExistingKey { name }
            | Event::UsingExistingCert { name }
            | Event::UsingExistingCa { name }
            | Event::ExternalCa { name } => (0, cert(name)),
            Event::GeneratedServiceAccount
            | Event::UsingExistingServiceAccount
            | Event::RestoredServiceAccountPublicKey => (1, 0),
            Event::WroteKubeconfig { file }
            | Event::UsingExistingKubeconfig { file }
            | Event::CompletedKubeconfig { file } => (2, kc(file)),
        }
    };
    b.out.events.sort_by_key(order);
    Ok(b.out)
}

/// One row of the plan `kpki certs list` shows: what a certificate or kubeconfig will be.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedItem {
    /// Name (`apiserver`) or kubeconfig file name (`admin.conf`).
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

/// The plan for a layout: every certificate and every kubeconfig's client certificate.
pub fn plan(layout: &Layout) -> Vec<PlannedItem> {
    let row = |name: &str, file: &str, e: &CertEntry| PlannedItem {
        name: name.into(),
        file: file.into(),
        ca: e.ca.clone().unwrap_or_default(),
        common_name: e.subject.common_name.clone(),
        organizations: e.subject.organizations.clone(),
        usages: e.usages.iter().map(|u| u.name().to_string()).collect(),
        dns_names: e.sans.dns.clone(),
        ip_addresses: e.sans.ips.iter().map(|i| i.to_string()).collect(),
        validity_seconds: e.validity.as_secs(),
        is_ca: e.is_ca(),
    };
    let mut rows: Vec<PlannedItem> = layout
        .certs
        .iter()
        .map(|e| row(&e.name, &e.cert_file(), e))
        .collect();
    for k in &layout.kubeconfigs {
        let entry = match &k.client {
            ClientCert::Own {
                subject,
                ca,
                validity,
                ..
            } => CertEntry {
                name: k.file.clone(),
                base: k.file.clone(),
                description: k.description.clone(),
                ca: Some(ca.clone()),
                subject: subject.clone(),
                usages: vec![crate::cert::ExtKeyUsage::ClientAuth],
                sans: Sans::default(),
                validity: *validity,
                key_algorithm: KeyAlgorithm::Rsa2048,
                used_by: vec![],
            },
            ClientCert::Entry(name) => match layout.cert(name) {
                Some(e) => e.clone(),
                None => continue,
            },
        };
        rows.push(row(&k.file, &k.file, &entry));
    }
    rows
}

impl<'a> Builder<'a> {
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

    fn ca_file(&self, ca_name: &str) -> String {
        self.layout
            .cert(ca_name)
            .map(|c| c.cert_file())
            .unwrap_or_default()
    }

    /// Decides what to do for every selected item, checking existing files on the way.
    fn plan(&mut self, selection: &Selection) -> Result<Vec<Job<'a>>> {
        let layout: &'a Layout = self.layout;
        let mut jobs = Vec::new();
        let selected_certs: Vec<&CertEntry> = layout
            .certs
            .iter()
            .filter(|c| selection.certs.contains(&c.name))
            .collect();
        let selected_kcs: Vec<&KubeconfigEntry> = layout
            .kubeconfigs
            .iter()
            .filter(|k| selection.kubeconfigs.contains(&k.file))
            .collect();

        // The CAs: those selected, and those the selected leaves and kubeconfigs need.
        let mut needed: Vec<String> = selected_certs
            .iter()
            .map(|c| c.ca.clone().unwrap_or_else(|| c.name.clone()))
            .collect();
        needed.extend(selected_kcs.iter().map(|k| k.ca.clone()));
        for entry in layout.cas().filter(|c| needed.contains(&c.name)) {
            let selected = selection.certs.contains(&entry.name);
            let cert = self.read_cert(&entry.cert_file())?;
            let key = self.read_key(&entry.key_file())?;
            match (cert, key) {
                (Some(cert), key) => {
                    if !cert.is_ca() {
                        return Err(self.file_error(
                            &entry.cert_file(),
                            "exists but is not a CA certificate (basicConstraints CA:TRUE missing)",
                        ));
                    }
                    if let Some(k) = &key {
                        if !cert.matches_key(k) {
                            return Err(self.file_error(
                                &entry.key_file(),
                                format!("does not match {}", entry.cert_file()),
                            ));
                        }
                    }
                    self.check_period(&cert, &entry.cert_file());
                    if selected {
                        self.out.events.push(if key.is_some() {
                            Event::UsingExistingCa {
                                name: entry.base.clone(),
                            }
                        } else {
                            Event::ExternalCa {
                                name: entry.base.clone(),
                            }
                        });
                    }
                    self.pairs.insert(entry.name.clone(), Pair { cert, key });
                }
                // A CA key without its certificate (e.g. a run interrupted between the two):
                // self-signing the same subject with the same key again yields a CA that
                // verifies everything the old one signed.
                (None, Some(key)) if selected => jobs.push(Job::CaCertForExistingKey(entry, key)),
                (None, Some(_)) => {
                    return Err(self.file_error(
                        &entry.key_file(),
                        format!(
                            "exists without {}; restore the certificate, or run kpki certs init {}",
                            entry.cert_file(),
                            entry.name
                        ),
                    ))
                }
                (None, None) if selected => jobs.push(Job::NewCa(entry)),
                (None, None) => {
                    return Err(Error::file(
                        self.path(Location::CertDir, &entry.cert_file()),
                        format!(
                            "the {} CA is missing; create it first (kpki certs init {})",
                            entry.name, entry.name
                        ),
                    ))
                }
            }
        }

        // Leaves: those selected, and those that missing kubeconfigs embed.
        let embedded: Vec<String> = selected_kcs
            .iter()
            .filter(|k| !self.existing.contains(Location::KubeconfigDir, &k.file))
            .filter_map(|k| match &k.client {
                ClientCert::Entry(e) => Some(e.clone()),
                ClientCert::Own { .. } => None,
            })
            .collect();
        for entry in layout.leaves() {
            let is_selected = selection.certs.contains(&entry.name);
            if !is_selected && !embedded.contains(&entry.name) {
                continue;
            }
            let ca_name = entry.ca.clone().expect("leaf has a CA");
            let ca_is_new = !self.pairs.contains_key(&ca_name);
            let external = self.pairs.get(&ca_name).is_some_and(|ca| ca.key.is_none());
            let cert = self.read_cert(&entry.cert_file())?;
            let key = self.read_key(&entry.key_file())?;
            match (cert, key) {
                (None, _) if !is_selected => {
                    return Err(Error::file(
                        self.path(Location::CertDir, &entry.cert_file()),
                        format!("is missing; a kubeconfig embeds it (run kpki certs init {} first)", entry.name),
                    ))
                }
                (None, None) if external => {
                    return Err(Error::file(
                        self.path(Location::CertDir, &entry.cert_file()),
                        format!(
                            "is missing and cannot be signed: the {ca_name} CA's key is absent (external CA); provide {} and {} signed by it",
                            entry.cert_file(),
                            entry.key_file()
                        ),
                    ))
                }
                (None, None) => jobs.push(Job::NewLeaf(entry)),
                (Some(_), None) => {
                    return Err(self.file_error(
                        &entry.cert_file(),
                        format!("exists but {} is missing; restore the key, or remove both to make a new pair", entry.key_file()),
                    ))
                }
                (None, Some(_)) if external => {
                    return Err(Error::file(
                        self.path(Location::CertDir, &entry.cert_file()),
                        format!("is missing and cannot be signed: the {ca_name} CA's key is absent (external CA)"),
                    ));
                }
                (None, Some(key)) => jobs.push(Job::CertForExistingKey(entry, key)),
                (Some(cert), Some(key)) => {
                    if ca_is_new {
                        return Err(self.file_error(
                            &entry.cert_file(),
                            format!("exists but its CA {} does not; it cannot be verified", self.ca_file(&ca_name)),
                        ));
                    }
                    self.check_existing_leaf(entry, &cert, &key)?;
                    self.check_period(&cert, &entry.cert_file());
                    if is_selected {
                        self.out.events.push(Event::UsingExistingCert { name: entry.base.clone() });
                    }
                    self.pairs.insert(entry.name.clone(), Pair { cert, key: Some(key) });
                }
            }
        }

        if let (true, Some(sa)) = (selection.service_account, &layout.service_account) {
            match (
                self.read_key(&sa.key_file)?,
                self.existing.contains(Location::CertDir, &sa.pub_file),
            ) {
                (Some(key), true) => {
                    let text = self
                        .existing
                        .text(Location::CertDir, &sa.pub_file)
                        .unwrap_or_default();
                    let block = pem::parse(text.trim_start())
                        .ok()
                        .filter(|b| b.tag() == "PUBLIC KEY")
                        .ok_or_else(|| self.file_error(&sa.pub_file, "is not a PEM PUBLIC KEY"))?;
                    if !key.matches_public_key(block.contents()) {
                        return Err(self
                            .file_error(&sa.pub_file, format!("does not match {}", sa.key_file)));
                    }
                    self.out.events.push(Event::UsingExistingServiceAccount);
                }
                (Some(key), false) => jobs.push(Job::ServiceAccountPub(key)),
                (None, true) => {
                    return Err(self.file_error(
                        &sa.pub_file,
                        format!(
                            "exists without {}; restore the key, or remove {} to make a new pair",
                            sa.key_file, sa.pub_file
                        ),
                    ))
                }
                (None, false) => jobs.push(Job::NewServiceAccount),
            }
        }

        for k in selected_kcs {
            match self.existing.text(Location::KubeconfigDir, &k.file) {
                Some(text) => {
                    let completed_before = self.out.completed.len();
                    self.check_existing_kubeconfig(k, &text)?;
                    if self.out.completed.len() == completed_before {
                        self.out.events.push(Event::UsingExistingKubeconfig {
                            file: k.file.clone(),
                        });
                    }
                }
                None => {
                    if matches!(k.client, ClientCert::Own { .. })
                        && self.pairs.get(&k.ca).is_some_and(|ca| ca.key.is_none())
                    {
                        return Err(Error::file(
                            self.path(Location::KubeconfigDir, &k.file),
                            format!("is missing and cannot be signed: {} is absent (external CA); provide the kubeconfig file", self.layout.cert(&k.ca).map(|c| c.key_file()).unwrap_or_default()),
                        ));
                    }
                    jobs.push(Job::NewKubeconfig(k));
                }
            }
        }
        Ok(jobs)
    }

    /// kubeadm's checks on an existing leaf: key matches, chains to its CA, covers the SANs
    /// now wanted.
    fn check_existing_leaf(
        &self,
        entry: &CertEntry,
        cert: &Certificate,
        key: &PrivateKey,
    ) -> Result<()> {
        if !cert.matches_key(key) {
            return Err(self.file_error(
                &entry.key_file(),
                format!("does not match {}", entry.cert_file()),
            ));
        }
        let ca_name = entry.ca.as_deref().expect("leaf");
        let ca = &self.pairs[ca_name];
        if !cert.is_issued_by(&ca.cert) {
            return Err(self.file_error(
                &entry.cert_file(),
                format!(
                    "is not signed by {} (issuer {:?}); it belongs to another CA",
                    self.ca_file(ca_name),
                    cert.issuer_rfc4514()
                ),
            ));
        }
        if let Some(missing) = cert.sans().covers(&entry.sans) {
            return Err(self.file_error(&entry.cert_file(), format!("does not cover {missing}, which the configuration requires; renew or remove it")));
        }
        Ok(())
    }

    /// kubeadm's check on an existing kubeconfig: its cluster CA must be its CA's certificate.
    /// A partial kubeconfig (a key, no certificate: `certs generate-csr`) is completed with the
    /// certificate an external CA signed, `<file>.crt` beside it.
    fn check_existing_kubeconfig(&mut self, k: &KubeconfigEntry, text: &str) -> Result<()> {
        let path = self.path(Location::KubeconfigDir, &k.file);
        let kc = kubeconfig::from_yaml(text).map_err(|e| e.in_file(&path))?;
        let current = kubeconfig::current_context(&kc).map_err(|e| e.in_file(&path))?;
        if current.client_cert_pem.is_none() && current.client_cert_file.is_none() {
            return self.complete_partial_kubeconfig(k, kc, &current);
        }
        let ca = &self.pairs[&k.ca].cert;
        match &current.ca_pem {
            Some(pem) if kubeconfig::same_pem(pem, &ca.to_pem()) => {}
            Some(_) => {
                return Err(Error::file(
                    &path,
                    format!("its certificate-authority-data is not the cluster CA ({}); it belongs to another cluster", self.ca_file(&k.ca)),
                ))
            }
            None => return Err(Error::file(&path, "has no certificate-authority-data to compare with the CA")),
        }
        if current.server.as_deref() != Some(k.server.as_str()) {
            self.out.warnings.push(format!(
                "{}: server is {}, the configuration says {}; keeping the file",
                path.display(),
                current.server.as_deref().unwrap_or("unset"),
                k.server
            ));
        }
        Ok(())
    }

    fn complete_partial_kubeconfig(
        &mut self,
        k: &KubeconfigEntry,
        kc: Kubeconfig,
        current: &kubeconfig::CurrentContext,
    ) -> Result<()> {
        let path = self.path(Location::KubeconfigDir, &k.file);
        let signed = format!("{}.crt", k.file);
        let signed_path = self.path(Location::KubeconfigDir, &signed);
        let Some(pem) = self.existing.text(Location::KubeconfigDir, &signed) else {
            return Err(Error::file(
                &path,
                format!("has no client certificate; sign {}.csr with the CA and put the certificate at {}", k.file, signed_path.display()),
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
                format!("does not match the key in {}", k.file),
            ));
        }
        let ca = &self.pairs[&k.ca].cert;
        if !cert.is_issued_by(ca) {
            return Err(Error::file(
                &signed_path,
                format!("is not signed by {}", self.ca_file(&k.ca)),
            ));
        }
        if cert.subject().common_name != k.user {
            return Err(Error::file(
                &signed_path,
                format!(
                    "is for {:?}, expected {:?}",
                    cert.subject().common_name,
                    k.user
                ),
            ));
        }
        let yaml = kubeconfig::to_yaml(&kubeconfig::set_credentials(kc, ca, &cert, None)?)?;
        self.out.completed.push(File {
            location: Location::KubeconfigDir,
            path: k.file.clone(),
            kind: FileKind::Kubeconfig,
            contents: yaml.into_bytes(),
        });
        self.out.events.push(Event::CompletedKubeconfig {
            file: k.file.clone(),
        });
        Ok(())
    }

    fn sign(
        &self,
        params: &cert::CertificateParams,
        ca_name: &str,
        key: &PrivateKey,
    ) -> Result<Certificate> {
        let ca = &self.pairs[ca_name];
        let ca_key = ca.key.as_ref().expect("checked in plan: CA key present");
        cert::issue(
            params,
            key.public_key_der(),
            &cert::random_serial()?,
            Signer::Ca(&ca.cert, ca_key),
        )
    }

    /// Issues one job's certificate or kubeconfig (no shared state is changed: jobs of a phase
    /// run in parallel).
    fn issue(&self, job: Job<'a>, key: Option<PrivateKey>) -> Result<Issued> {
        let now = self.now;
        let mut out = Issued::default();
        let pair_files = |out: &mut Issued,
                          entry: &CertEntry,
                          cert: &Certificate,
                          key: Option<&PrivateKey>|
         -> Result<()> {
            out.files.push(File {
                location: Location::CertDir,
                path: entry.cert_file(),
                kind: FileKind::Certificate,
                contents: cert.to_pem().into_bytes(),
            });
            if let Some(key) = key {
                out.files.push(File {
                    location: Location::CertDir,
                    path: entry.key_file(),
                    kind: FileKind::PrivateKey,
                    contents: key.to_pem()?.as_bytes().to_vec(),
                });
            }
            Ok(())
        };
        match job {
            Job::NewCa(entry) | Job::CaCertForExistingKey(entry, _) => {
                let (key, new) = match job {
                    Job::CaCertForExistingKey(_, existing) => (existing, false),
                    _ => (key.expect("planned"), true),
                };
                let cert = cert::issue(
                    &entry.params(now),
                    key.public_key_der(),
                    &cert::random_serial()?,
                    Signer::SelfSigned(&key),
                )?;
                pair_files(&mut out, entry, &cert, new.then_some(&key))?;
                out.event = Some(if new {
                    Event::GeneratedCert {
                        name: entry.base.clone(),
                        sans: None,
                    }
                } else {
                    Event::ReissuedCertForExistingKey {
                        name: entry.base.clone(),
                    }
                });
                out.pair = Some((
                    entry.name.clone(),
                    Pair {
                        cert,
                        key: Some(key),
                    },
                ));
            }
            Job::NewLeaf(entry) | Job::CertForExistingKey(entry, _) => {
                let (key, new) = match job {
                    Job::CertForExistingKey(_, existing) => (existing, false),
                    _ => (key.expect("planned"), true),
                };
                let cert =
                    self.sign(&entry.params(now), entry.ca.as_deref().expect("leaf"), &key)?;
                pair_files(&mut out, entry, &cert, new.then_some(&key))?;
                let sans = entry
                    .usages
                    .contains(&cert::ExtKeyUsage::ServerAuth)
                    .then(|| cert.sans());
                out.event = Some(if new {
                    Event::GeneratedCert {
                        name: entry.base.clone(),
                        sans,
                    }
                } else {
                    Event::ReissuedCertForExistingKey {
                        name: entry.base.clone(),
                    }
                });
                out.pair = Some((
                    entry.name.clone(),
                    Pair {
                        cert,
                        key: Some(key),
                    },
                ));
            }
            Job::NewServiceAccount => {
                let sa = self.layout.service_account.clone().expect("planned");
                let key = key.expect("planned");
                out.files.push(File {
                    location: Location::CertDir,
                    path: sa.key_file,
                    kind: FileKind::PrivateKey,
                    contents: key.to_pem()?.as_bytes().to_vec(),
                });
                out.files.push(File {
                    location: Location::CertDir,
                    path: sa.pub_file,
                    kind: FileKind::PublicKey,
                    contents: key.public_key_pem().into_bytes(),
                });
                out.event = Some(Event::GeneratedServiceAccount);
            }
            Job::ServiceAccountPub(existing_key) => {
                let sa = self.layout.service_account.clone().expect("planned");
                out.files.push(File {
                    location: Location::CertDir,
                    path: sa.pub_file,
                    kind: FileKind::PublicKey,
                    contents: existing_key.public_key_pem().into_bytes(),
                });
                out.event = Some(Event::RestoredServiceAccountPublicKey);
            }
            Job::NewKubeconfig(k) => {
                let (client, client_key) = match &k.client {
                    ClientCert::Own {
                        subject,
                        ca,
                        validity,
                        ..
                    } => {
                        let key = key.expect("planned");
                        let params = crate::spec::client_params(subject.clone(), now, *validity);
                        (self.sign(&params, ca, &key)?, key)
                    }
                    ClientCert::Entry(name) => {
                        let pair = &self.pairs[name];
                        let key_pem = pair.key.as_ref().expect("leaf keys are loaded").to_pem()?;
                        (pair.cert.clone(), PrivateKey::from_pem(&key_pem)?)
                    }
                };
                let ca = &self.pairs[&k.ca].cert;
                let kc = kubeconfig::build(
                    &k.cluster_name,
                    &k.server,
                    ca,
                    &k.user,
                    &client,
                    &client_key,
                )?;
                let yaml = kubeconfig::to_yaml(&kc)?;
                out.files.push(File {
                    location: Location::KubeconfigDir,
                    path: k.file.clone(),
                    kind: FileKind::Kubeconfig,
                    contents: yaml.into_bytes(),
                });
                out.kubeconfig = Some((k.file.clone(), kc));
                out.event = Some(Event::WroteKubeconfig {
                    file: k.file.clone(),
                });
            }
        }
        Ok(out)
    }

    fn apply(&mut self, item: Issued) {
        self.out.files.extend(item.files);
        self.out.events.extend(item.event);
        if let Some((name, pair)) = item.pair {
            self.pairs.insert(name, pair);
        }
        if let Some((file, kc)) = item.kubeconfig {
            self.out.kubeconfigs.insert(file, kc);
        }
    }
}

/// What one job produced.
#[derive(Default)]
struct Issued {
    files: Vec<File>,
    event: Option<Event>,
    pair: Option<(String, Pair)>,
    kubeconfig: Option<(String, Kubeconfig)>,
}
