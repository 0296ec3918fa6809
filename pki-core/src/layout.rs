//! A profile's certificates and kubeconfigs resolved for one cluster: the table every command
//! reads.
//!
//! A profile is data — kubeadm's table in [`spec`](crate::spec), the hand-built layout in
//! [`hardway`](crate::hardway) — and a [`Layout`] is that data with names, subjects, SANs and
//! servers filled in for a cluster. `init`, `certs list`, `generate-csr`, `check-expiration`,
//! `renew` and `verify` all take a `Layout`, so a new certificate is one table entry.

use std::time::{Duration, SystemTime};

use crate::cert::{CertificateParams, ExtKeyUsage, Sans, Subject, BACKDATE};
use crate::key::KeyAlgorithm;
use crate::spec::key_usages;

/// One certificate (and its key).
#[derive(Clone, Debug, PartialEq)]
pub struct CertEntry {
    /// Its name on the command line (`apiserver`, `etcd-server`, `worker-7`).
    pub name: String,
    /// Path of `.crt`/`.key` relative to the cert dir, without extension (`etcd/server`).
    pub base: String,
    /// What it is for (kubeadm's wording where kubeadm has the certificate).
    pub description: String,
    /// The name of the CA entry that signs it; `None` for a CA.
    pub ca: Option<String>,
    /// Subject.
    pub subject: Subject,
    /// Extended key usages, in order.
    pub usages: Vec<ExtKeyUsage>,
    /// Subject alternative names, in encoded order.
    pub sans: Sans,
    /// Validity.
    pub validity: Duration,
    /// Algorithm of a new key.
    pub key_algorithm: KeyAlgorithm,
    /// The components that read it (to restart after renewal).
    pub used_by: Vec<&'static str>,
}

impl CertEntry {
    /// Whether this entry is a CA.
    pub fn is_ca(&self) -> bool {
        self.ca.is_none()
    }
    /// `<base>.crt`.
    pub fn cert_file(&self) -> String {
        format!("{}.crt", self.base)
    }
    /// `<base>.key`.
    pub fn key_file(&self) -> String {
        format!("{}.key", self.base)
    }
    /// Everything needed to issue it at `now`: kubeadm's key usages, backdated validity.
    pub fn params(&self, now: SystemTime) -> CertificateParams {
        CertificateParams {
            subject: self.subject.clone(),
            subject_name: None,
            is_ca: self.is_ca(),
            key_usages: key_usages(self.is_ca()),
            ext_key_usages: self.usages.clone(),
            sans: self.sans.clone(),
            not_before: now - BACKDATE,
            not_after: now + self.validity,
            basic_constraints_on_leaf: true,
        }
    }
}

/// Where a kubeconfig's client certificate comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientCert {
    /// Its own certificate, issued for it and found only inside it (kubeadm).
    Own {
        /// The certificate's subject.
        subject: Subject,
        /// The CA entry that signs it.
        ca: String,
        /// Validity.
        validity: Duration,
        /// Algorithm of a new key.
        key_algorithm: KeyAlgorithm,
    },
    /// The certificate and key of a certificate entry, embedded (the hand-built layout).
    Entry(String),
}

/// One kubeconfig file.
#[derive(Clone, Debug, PartialEq)]
pub struct KubeconfigEntry {
    /// File name in the kubeconfig dir.
    pub file: String,
    /// What it is for.
    pub description: String,
    /// The user entry's name (the client certificate's CN).
    pub user: String,
    /// The cluster entry's name.
    pub cluster_name: String,
    /// The server URL.
    pub server: String,
    /// The CA entry whose certificate is the cluster's CA data.
    pub ca: String,
    /// Its client certificate.
    pub client: ClientCert,
    /// Whether `certs renew` handles it (kubelet.conf is rotated by the kubelet).
    pub renewable: bool,
    /// Whether a missing file is normal (super-admin.conf on clusters older than v1.29).
    pub optional: bool,
    /// The components that read it.
    pub used_by: Vec<&'static str>,
}

/// The service-account key pair (kubeadm's `sa.key`/`sa.pub`).
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceAccountKeys {
    /// The private key file in the cert dir.
    pub key_file: String,
    /// The public key file in the cert dir.
    pub pub_file: String,
    /// Algorithm of a new key (never Ed25519: kube-apiserver takes RSA and ECDSA only).
    pub key_algorithm: KeyAlgorithm,
}

/// A profile resolved for one cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// `kubeadm` or `hard-way`.
    pub profile: &'static str,
    /// Certificates, CAs first within their groups, in generation order.
    pub certs: Vec<CertEntry>,
    /// Kubeconfig files.
    pub kubeconfigs: Vec<KubeconfigEntry>,
    /// The service-account key pair, when the profile has one.
    pub service_account: Option<ServiceAccountKeys>,
}

impl Layout {
    /// A certificate entry by name.
    pub fn cert(&self, name: &str) -> Option<&CertEntry> {
        self.certs.iter().find(|c| c.name == name)
    }
    /// A kubeconfig entry by file name, or by name without `.conf`/`.kubeconfig`.
    pub fn kubeconfig(&self, name: &str) -> Option<&KubeconfigEntry> {
        self.kubeconfigs.iter().find(|k| {
            k.file == name
                || k.file.strip_suffix(".conf") == Some(name)
                || k.file.strip_suffix(".kubeconfig") == Some(name)
        })
    }
    /// The CAs.
    pub fn cas(&self) -> impl Iterator<Item = &CertEntry> {
        self.certs.iter().filter(|c| c.is_ca())
    }
    /// The leaves.
    pub fn leaves(&self) -> impl Iterator<Item = &CertEntry> {
        self.certs.iter().filter(|c| !c.is_ca())
    }
    /// The kubeconfigs that embed certificate entry `name`.
    pub fn kubeconfigs_embedding(&self, name: &str) -> impl Iterator<Item = &KubeconfigEntry> {
        let name = name.to_string();
        self.kubeconfigs
            .iter()
            .filter(move |k| matches!(&k.client, ClientCert::Entry(e) if *e == name))
    }
}
