//! A PKI as files in memory: the contents of the cert dir and the kubeconfig dir by relative
//! path. The builder reads existing files from a [`Tree`] and returns new files; the
//! [`store`](crate::store) module moves trees between memory and disk.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Which directory a file belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    /// The certificate directory (`/etc/kubernetes/pki`).
    CertDir,
    /// The kubeconfig directory (`/etc/kubernetes`).
    KubeconfigDir,
    /// A file a kubeconfig refers to by absolute path (kubelet.conf's rotated
    /// `kubelet-client-current.pem`); the path is absolute.
    Elsewhere,
}

/// What a file holds; decides its mode on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A PEM certificate (0644).
    Certificate,
    /// A PEM private key (0600).
    PrivateKey,
    /// The service-account public key (0600, as kubeadm writes it).
    PublicKey,
    /// A kubeconfig with embedded credentials (0600).
    Kubeconfig,
    /// A PKCS#10 request (0600, as kubeadm writes them).
    Request,
    /// A Kubernetes manifest to `kubectl apply` (0644).
    Manifest,
}

impl FileKind {
    /// The Unix mode kubeadm gives such a file.
    pub fn mode(self) -> u32 {
        match self {
            FileKind::Certificate | FileKind::Manifest => 0o644,
            _ => 0o600,
        }
    }
}

/// One file of a PKI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    /// Its directory.
    pub location: Location,
    /// Its path relative to that directory (`etcd/ca.crt`).
    pub path: String,
    /// What it holds.
    pub kind: FileKind,
    /// The bytes.
    pub contents: Vec<u8>,
}

/// A set of files keyed by location and relative path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tree {
    files: BTreeMap<(Location, String), Vec<u8>>,
    /// Unix modes of files read from disk (absent for files made in memory).
    modes: BTreeMap<(Location, String), u32>,
}

impl Tree {
    /// An empty tree (nothing exists yet).
    pub fn new() -> Tree {
        Tree::default()
    }

    /// Adds or replaces a file.
    pub fn insert(&mut self, location: Location, path: impl Into<String>, contents: Vec<u8>) {
        self.files.insert((location, path.into()), contents);
    }

    /// Records the Unix mode a file has on disk.
    pub fn set_mode(&mut self, location: Location, path: impl Into<String>, mode: u32) {
        self.modes.insert((location, path.into()), mode);
    }

    /// The Unix mode a file had on disk, when it was read from disk.
    pub fn mode(&self, location: Location, path: &str) -> Option<u32> {
        self.modes.get(&(location, path.to_string())).copied()
    }

    /// A file's bytes, if present.
    pub fn get(&self, location: Location, path: &str) -> Option<&[u8]> {
        self.files
            .get(&(location, path.to_string()))
            .map(Vec::as_slice)
    }

    /// A file's text, if present (lossy for non-UTF-8, which then fails to parse as PEM).
    pub fn text(&self, location: Location, path: &str) -> Option<String> {
        self.get(location, path)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// Whether a file is present.
    pub fn contains(&self, location: Location, path: &str) -> bool {
        self.get(location, path).is_some()
    }

    /// Every file, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (Location, &str, &[u8])> {
        self.files
            .iter()
            .map(|((l, p), c)| (*l, p.as_str(), c.as_slice()))
    }
}

/// Where the two directories are, to name files in messages and to write them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirs {
    /// The cert dir.
    pub cert_dir: PathBuf,
    /// The kubeconfig dir.
    pub kubeconfig_dir: PathBuf,
}

impl Dirs {
    /// The full path of a file.
    pub fn path(&self, location: Location, rel: &str) -> PathBuf {
        match location {
            Location::CertDir => self.cert_dir.join(rel),
            Location::KubeconfigDir => self.kubeconfig_dir.join(rel),
            Location::Elsewhere => PathBuf::from(rel),
        }
    }
}

impl From<&crate::config::ClusterConfig> for Dirs {
    fn from(config: &crate::config::ClusterConfig) -> Dirs {
        Dirs {
            cert_dir: config.cert_dir.clone(),
            kubeconfig_dir: config.kubeconfig_dir.clone(),
        }
    }
}
