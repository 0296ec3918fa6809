//! What a tree holds, parsed: each certificate of the table and each kubeconfig's client
//! certificate, as present, missing or unreadable. Reports (`check-expiration`, `verify`) and
//! `renew` all start here, so they agree on what exists.

use crate::cert::Certificate;
use crate::key::PrivateKey;
use crate::kubeconfig::{self, CurrentContext, Kubeconfig};
use crate::layout::KubeconfigEntry;
use crate::tree::{Dirs, Location, Tree};

/// A file that may be missing or unreadable.
#[derive(Debug)]
pub enum Found<T> {
    /// The file does not exist.
    Missing,
    /// The file exists but cannot be used; the reason names the file.
    Invalid(String),
    /// The file, parsed.
    Present(T),
}

impl<T> Found<T> {
    /// The value, when present.
    pub fn present(&self) -> Option<&T> {
        match self {
            Found::Present(t) => Some(t),
            _ => None,
        }
    }
}

/// The certificate (leaf first, when a chain) at `rel` in the cert dir.
pub fn cert(tree: &Tree, dirs: &Dirs, rel: &str) -> Found<Certificate> {
    match tree.text(Location::CertDir, rel) {
        None => Found::Missing,
        Some(text) => match Certificate::from_pem(&text) {
            Ok(c) => Found::Present(c),
            Err(e) => Found::Invalid(e.in_file(dirs.path(Location::CertDir, rel)).to_string()),
        },
    }
}

/// The private key at `rel` in the cert dir.
pub fn key(tree: &Tree, dirs: &Dirs, rel: &str) -> Found<PrivateKey> {
    match tree.text(Location::CertDir, rel) {
        None => Found::Missing,
        Some(text) => match PrivateKey::from_pem(&text) {
            Ok(k) => Found::Present(k),
            Err(e) => Found::Invalid(e.in_file(dirs.path(Location::CertDir, rel)).to_string()),
        },
    }
}

/// A kubeconfig with its current context resolved and its client certificate loaded
/// (embedded, or from the file it names).
#[derive(Debug)]
pub struct LoadedKubeconfig {
    /// The whole file.
    pub config: Kubeconfig,
    /// Its current context.
    pub current: CurrentContext,
    /// The client certificate.
    pub client_cert: Certificate,
    /// Where the client certificate came from, when not embedded.
    pub client_cert_path: Option<String>,
}

/// Loads a kubeconfig of the table.
pub fn kubeconfig(tree: &Tree, dirs: &Dirs, entry: &KubeconfigEntry) -> Found<LoadedKubeconfig> {
    let path = dirs.path(Location::KubeconfigDir, &entry.file);
    let Some(text) = tree.text(Location::KubeconfigDir, &entry.file) else {
        return Found::Missing;
    };
    let invalid = |e: crate::Error| Found::Invalid(e.in_file(&path).to_string());
    let config = match kubeconfig::from_yaml(&text) {
        Ok(c) => c,
        Err(e) => return invalid(e),
    };
    let current = match kubeconfig::current_context(&config) {
        Ok(c) => c,
        Err(e) => return invalid(e),
    };
    let (pem, client_cert_path) = match (&current.client_cert_pem, &current.client_cert_file) {
        (Some(pem), _) => (pem.clone(), None),
        (None, Some(file)) => {
            let abs = dirs.kubeconfig_dir.join(file).display().to_string();
            match tree.text(Location::Elsewhere, &abs) {
                Some(pem) => (pem, Some(abs)),
                None => {
                    return Found::Invalid(format!(
                        "{}: its client certificate {abs} does not exist",
                        path.display()
                    ))
                }
            }
        }
        (None, None) => {
            return Found::Invalid(format!(
                "{}: the current user has no client certificate",
                path.display()
            ))
        }
    };
    match Certificate::from_pem(&pem) {
        Ok(client_cert) => Found::Present(LoadedKubeconfig {
            config,
            current,
            client_cert,
            client_cert_path,
        }),
        Err(e) => Found::Invalid(
            e.in_file(client_cert_path.map(Into::into).unwrap_or(path))
                .to_string(),
        ),
    }
}
