//! An external CA (reference §6): kubeadm's `certs generate-csr`. Keys and CSRs for every leaf
//! and kubeconfig, so that a CA kpki never sees can sign them; the signed certificates are
//! then dropped in and `init` accepts them with the CA key absent.

use crate::cert::Subject;
use crate::config::ClusterConfig;
use crate::csr::CertificateRequest;
use crate::error::Result;
use crate::inventory::{self, Found};
use crate::kubeconfig;
use crate::pki::generate_keys;
use crate::spec::{CertSpec, KUBEADM_KUBECONFIGS};
use crate::tree::{Dirs, File, FileKind, Location, Tree};

/// Keys, CSRs and partial kubeconfigs: for each leaf `<base>.key` + `<base>.csr` in the cert
/// dir; for each kubeconfig the file with its key and no certificate, and `<file>.csr`, in the
/// kubeconfig dir. CSRs carry the subject and SANs only, as kubeadm's do. Nothing is written
/// here; the files are new (committing them refuses to overwrite).
pub fn generate_csrs(config: &ClusterConfig, existing: &Tree) -> Result<Vec<File>> {
    let dirs = Dirs {
        cert_dir: config.cert_dir.clone(),
        kubeconfig_dir: config.kubeconfig_dir.clone(),
    };
    let ca = match inventory::cert(existing, &dirs, "ca.crt") {
        Found::Present(c) => Some(c),
        Found::Invalid(e) => return Err(crate::Error::invalid("ca.crt", e)),
        Found::Missing => None,
    };
    let leaves: Vec<&CertSpec> = CertSpec::for_cluster(config)
        .filter(|s| !s.is_ca())
        .collect();
    let count = leaves.len() + KUBEADM_KUBECONFIGS.len();
    let mut keys = generate_keys(&vec![config.key_algorithm; count])?.into_iter();
    let mut files = Vec::new();
    for spec in leaves {
        let key = keys.next().expect("one key per item");
        let params = spec.params(config, std::time::SystemTime::UNIX_EPOCH);
        let csr = CertificateRequest::build(&key, &params.subject, &params.sans)?;
        files.push(File {
            location: Location::CertDir,
            path: spec.key_file(),
            kind: FileKind::PrivateKey,
            contents: key.to_pem()?.as_bytes().to_vec(),
        });
        files.push(File {
            location: Location::CertDir,
            path: format!("{}.csr", spec.base),
            kind: FileKind::Request,
            contents: csr.to_pem().into_bytes(),
        });
    }
    for spec in KUBEADM_KUBECONFIGS {
        let key = keys.next().expect("one key per item");
        let user = spec.user.resolve(config);
        let subject = Subject::new(user.clone(), spec.organizations);
        let csr = CertificateRequest::build(&key, &subject, &Default::default())?;
        let kc = kubeconfig::partial(
            &config.cluster_name,
            &spec.server(config),
            ca.as_ref(),
            &user,
            &key,
        )?;
        files.push(File {
            location: Location::KubeconfigDir,
            path: spec.file.into(),
            kind: FileKind::Kubeconfig,
            contents: kubeconfig::to_yaml(&kc)?.into_bytes(),
        });
        files.push(File {
            location: Location::KubeconfigDir,
            path: format!("{}.csr", spec.file),
            kind: FileKind::Request,
            contents: csr.to_pem().into_bytes(),
        });
    }
    Ok(files)
}
