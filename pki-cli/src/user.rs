//! `kpki kubeconfig user`: a kubeconfig for one user, as kubeadm's `kubeconfig user`.

use std::path::Path;

use pki_core::cert::{self, Certificate, Signer, Subject};
use pki_core::tree::FileKind;
use pki_core::{kubeconfig, rbac, spec, store, Error, PrivateKey};

use crate::args::KubeconfigCommand;
use crate::{Failure, Out};

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::from(Error::io(path, e)))
}

pub fn run(command: KubeconfigCommand, out: &mut Out) -> Result<u8, Failure> {
    let KubeconfigCommand::User {
        client_name,
        orgs,
        validity,
        client_cert,
        client_key,
        server,
        out: out_file,
        merge_into,
        bind,
        bind_out,
        allow_system_masters,
        pki,
    } = command
    else {
        unreachable!("dispatched on User")
    };
    let now = crate::now::now()?;
    let validity = crate::config::duration(&validity, "--validity")?;
    if validity > std::time::Duration::from_secs(8760 * 3600) {
        out.warn(format!(
            "--validity {} is longer than kubeadm's 8760h for client certificates",
            pki_core::duration::format_go(validity)
        ));
    }
    if orgs.iter().any(|o| o == "system:masters") && !allow_system_masters {
        return Err("--org system:masters: that group bypasses all authorization and cannot be revoked; bind a ClusterRole instead (--bind clusterrole/cluster-admin), or pass --allow-system-masters".to_string().into());
    }
    let input = crate::config::input(&pki)?;
    let dirs = crate::config::dirs(&input);
    let (cluster_name, server) = match server {
        Some(s) => (
            input
                .cluster_name
                .clone()
                .unwrap_or_else(|| "kubernetes".into()),
            s,
        ),
        None => {
            let config = crate::config::resolve(&pki)?;
            let admin = spec::KubeconfigSpec::by_name("admin.conf").expect("in table");
            (config.cluster_name.clone(), admin.server(&config))
        }
    };
    let ca_path = dirs.cert_dir.join("ca.crt");
    let ca = Certificate::from_pem(&read(&ca_path)?).map_err(|e| e.in_file(&ca_path))?;

    let (cert, key) = match (client_cert, client_key) {
        (Some(c), Some(k)) => {
            let cert = Certificate::from_pem(&read(&c)?).map_err(|e| e.in_file(&c))?;
            let key = PrivateKey::from_pem(&read(&k)?).map_err(|e| e.in_file(&k))?;
            if !cert.matches_key(&key) {
                return Err(format!("{}: does not match {}", k.display(), c.display()).into());
            }
            if !cert.is_issued_by(&ca) {
                return Err(format!(
                    "{}: is not signed by {}; the API server would refuse it",
                    c.display(),
                    ca_path.display()
                )
                .into());
            }
            if cert.subject().common_name != client_name {
                return Err(format!(
                    "{}: is for {:?}, not --client-name {client_name:?}",
                    c.display(),
                    cert.subject().common_name
                )
                .into());
            }
            (cert, key)
        }
        _ => {
            let ca_key_path = dirs.cert_dir.join("ca.key");
            let ca_key = match store::read_optional(&ca_key_path)? {
                Some(bytes) => PrivateKey::from_pem(&String::from_utf8_lossy(&bytes)).map_err(|e| e.in_file(&ca_key_path))?,
                None => {
                    return Err(format!("{}: missing (external CA); sign a CSR elsewhere and pass --client-cert/--client-key", ca_key_path.display()).into())
                }
            };
            let alg = match &input.key_algorithm {
                Some(a) => a.parse().map_err(|e: Error| {
                    format!(
                        "--key-algorithm: {}",
                        e.to_string().replace("key algorithm: ", "")
                    )
                })?,
                None => pki_core::KeyAlgorithm::Rsa2048,
            };
            let key = PrivateKey::generate(alg)?;
            let subject = Subject {
                common_name: client_name.clone(),
                organizations: orgs,
            };
            let params = spec::client_params(subject, now, validity);
            let cert = cert::issue(
                &params,
                key.public_key_der(),
                &cert::random_serial()?,
                Signer::Ca(&ca, &ca_key),
            )?;
            (cert, key)
        }
    };
    let built = kubeconfig::build(&cluster_name, &server, &ca, &client_name, &cert, &key)?;

    if let (Some(spec), Some(path)) = (&bind, &bind_out) {
        let b = rbac::binding(spec, &client_name)?;
        crate::csr::write_new_file(path, FileKind::Manifest, rbac::to_yaml(&b)?.into_bytes())?;
    }
    match (out_file, merge_into) {
        (Some(path), _) => crate::csr::write_new_file(
            &path,
            FileKind::Kubeconfig,
            kubeconfig::to_yaml(&built)?.into_bytes(),
        )?,
        (None, Some(path)) => {
            let existing = kubeconfig::from_yaml(&read(&path)?).map_err(|e| e.in_file(&path))?;
            let merged = kubeconfig::merge(existing, built).map_err(|e| e.in_file(&path))?;
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let dirs = pki_core::tree::Dirs {
                cert_dir: dir.to_path_buf(),
                kubeconfig_dir: dir.to_path_buf(),
            };
            let file = pki_core::tree::File {
                location: pki_core::tree::Location::KubeconfigDir,
                path: name,
                kind: FileKind::Kubeconfig,
                contents: kubeconfig::to_yaml(&merged)?.into_bytes(),
            };
            store::replace(&dirs, &[file], None)?;
            out.warn(format!(
                "added user {client_name}, cluster {cluster_name} and context {client_name}@{cluster_name} to {}; switch with: kubectl config use-context {client_name}@{cluster_name}",
                path.display()
            ));
        }
        (None, None) => out.stdout.push_str(&kubeconfig::to_yaml(&built)?),
    }
    Ok(0)
}
