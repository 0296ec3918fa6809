//! An external CA (reference §6): kubeadm's `certs generate-csr`. Keys and CSRs for every leaf
//! and kubeconfig, so that a CA kpki never sees can sign them; the signed certificates are
//! then dropped in and `init` accepts them with the CA key absent.

use crate::cert::Subject;
use crate::csr::CertificateRequest;
use crate::error::Result;
use crate::inventory::{self, Found};
use crate::key::KeyAlgorithm;
use crate::kubeconfig;
use crate::layout::{ClientCert, KubeconfigEntry, Layout};
use crate::pki::generate_keys;
use crate::tree::{Dirs, File, FileKind, Location, Tree};

/// Keys, CSRs and partial kubeconfigs: for each leaf `<base>.key` + `<base>.csr` in the cert
/// dir; for each kubeconfig the file with its key and no certificate, and `<file>.csr`, in the
/// kubeconfig dir. CSRs carry the subject and SANs only, as kubeadm's do. Nothing is written
/// here; the files are new (committing them refuses to overwrite).
pub fn generate_csrs(layout: &Layout, dirs: &Dirs, existing: &Tree) -> Result<Vec<File>> {
    let own: Vec<(&KubeconfigEntry, &Subject, &str, KeyAlgorithm)> = layout
        .kubeconfigs
        .iter()
        .filter_map(|k| match &k.client {
            ClientCert::Own {
                subject,
                ca,
                key_algorithm,
                ..
            } => Some((k, subject, ca.as_str(), *key_algorithm)),
            ClientCert::Entry(_) => None,
        })
        .collect();
    let leaves: Vec<_> = layout.leaves().collect();
    let algorithms: Vec<KeyAlgorithm> = leaves
        .iter()
        .map(|l| l.key_algorithm)
        .chain(own.iter().map(|o| o.3))
        .collect();
    let mut keys = generate_keys(&algorithms)?.into_iter();
    let mut files = Vec::new();
    for entry in leaves {
        let key = keys.next().expect("one key per item");
        let csr = CertificateRequest::build(&key, &entry.subject, &entry.sans)?;
        files.push(File {
            location: Location::CertDir,
            path: entry.key_file(),
            kind: FileKind::PrivateKey,
            contents: key.to_pem()?.as_bytes().to_vec(),
        });
        files.push(File {
            location: Location::CertDir,
            path: format!("{}.csr", entry.base),
            kind: FileKind::Request,
            contents: csr.to_pem().into_bytes(),
        });
    }
    for (k, subject, ca_name, _) in own {
        let key = keys.next().expect("one key per item");
        let ca_file = layout
            .cert(ca_name)
            .map(|c| c.cert_file())
            .unwrap_or_default();
        let ca = match inventory::cert(existing, dirs, &ca_file) {
            Found::Present(c) => Some(c),
            Found::Invalid(e) => return Err(crate::Error::invalid(ca_file, e)),
            Found::Missing => None,
        };
        let csr = CertificateRequest::build(&key, subject, &Default::default())?;
        let kc = kubeconfig::partial(&k.cluster_name, &k.server, ca.as_ref(), &k.user, &key)?;
        files.push(File {
            location: Location::KubeconfigDir,
            path: k.file.clone(),
            kind: FileKind::Kubeconfig,
            contents: kubeconfig::to_yaml(&kc)?.into_bytes(),
        });
        files.push(File {
            location: Location::KubeconfigDir,
            path: format!("{}.csr", k.file),
            kind: FileKind::Request,
            contents: csr.to_pem().into_bytes(),
        });
    }
    Ok(files)
}
