//! `kpki csr create|sign|extract` and `kpki certs generate-csr`.

use std::path::{Path, PathBuf};

use pki_core::cert::{Certificate, Sans, Subject};
use pki_core::csr::CertificateRequest;
use pki_core::signer::{self, SignRequest};
use pki_core::tree::{Dirs, File, FileKind, Location};
use pki_core::{manifest, rbac, store, Error, KeyAlgorithm, PrivateKey};

use crate::args::{CsrCommand, PkiArgs};
use crate::{Failure, Out};

/// The usages a signer usually wants, when --usages is not given.
fn default_usages(signer: &str) -> Result<Vec<String>, Failure> {
    let v: &[&str] = match signer {
        signer::KUBE_APISERVER_CLIENT | signer::KUBE_APISERVER_CLIENT_KUBELET => {
            &["digital signature", "key encipherment", "client auth"]
        }
        signer::KUBELET_SERVING => &["digital signature", "key encipherment", "server auth"],
        other => return Err(format!("--usages: required for the signer {other:?}").into()),
    };
    Ok(v.iter().map(|s| s.to_string()).collect())
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::from(Error::io(path, e)))
}

/// Writes new files into one directory: all or nothing, never over an existing file.
fn write_new(dir: &Path, files: Vec<(String, FileKind, Vec<u8>)>) -> Result<Vec<PathBuf>, Failure> {
    let dirs = Dirs {
        cert_dir: dir.to_path_buf(),
        kubeconfig_dir: dir.to_path_buf(),
    };
    let files: Vec<File> = files
        .into_iter()
        .map(|(path, kind, contents)| File {
            location: Location::CertDir,
            path,
            kind,
            contents,
        })
        .collect();
    Ok(store::commit(&dirs, &files)?)
}

/// Writes one new file given by path (its directory is made if missing).
pub fn write_new_file(path: &Path, kind: FileKind, contents: Vec<u8>) -> Result<(), Failure> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    write_new(
        dir,
        vec![(name.to_string_lossy().into_owned(), kind, contents)],
    )?;
    Ok(())
}

pub fn run(command: CsrCommand, out: &mut Out) -> Result<u8, Failure> {
    match command {
        CsrCommand::Create {
            name,
            orgs,
            signer,
            usages,
            expiration,
            dns,
            ip,
            key_algorithm,
            key,
            csr,
            bind,
            allow_system_masters,
            out_dir,
        } => {
            let usages = match usages {
                Some(u) => u.into_iter().map(|s| s.trim().to_string()).collect(),
                None => default_usages(&signer)?,
            };
            let expiration_seconds = expiration
                .as_deref()
                .map(|e| crate::config::duration(e, "--expiration").map(|d| d.as_secs() as i64))
                .transpose()?;
            let mut files = Vec::new();
            let request = match &csr {
                Some(path) => {
                    CertificateRequest::from_pem(&read(path)?).map_err(|e| e.in_file(path))?
                }
                None => {
                    let private = match &key {
                        Some(path) => {
                            PrivateKey::from_pem(&read(path)?).map_err(|e| e.in_file(path))?
                        }
                        None => {
                            let alg: KeyAlgorithm = key_algorithm
                                .as_deref()
                                .unwrap_or("RSA-2048")
                                .parse()
                                .map_err(|e: Error| {
                                    format!(
                                        "--key-algorithm: {}",
                                        e.to_string().replace("key algorithm: ", "")
                                    )
                                })?;
                            let k = PrivateKey::generate(alg)?;
                            files.push((
                                format!("{name}.key"),
                                FileKind::PrivateKey,
                                k.to_pem()?.as_bytes().to_vec(),
                            ));
                            k
                        }
                    };
                    let mut sans = Sans {
                        dns,
                        ..Default::default()
                    };
                    for (i, text) in ip.iter().enumerate() {
                        sans.ips.push(text.parse().map_err(|_| {
                            format!("--ip: {text:?} (entry {i}) is not an IP address")
                        })?);
                    }
                    let subject = Subject {
                        common_name: name.clone(),
                        organizations: orgs,
                    };
                    CertificateRequest::build(&private, &subject, &sans)?
                }
            };
            if !request.signature_is_valid() {
                return Err(format!(
                    "{}: the CSR's signature does not verify with its own key",
                    csr.map(|p| p.display().to_string()).unwrap_or_default()
                )
                .into());
            }
            // The signer's rules, before anything is written.
            let req = SignRequest {
                csr: &request,
                signer_name: &signer,
                usages: &usages,
                expiration_seconds,
            };
            signer::check(&req, allow_system_masters)?;
            let object = manifest::new(&name, &request, &signer, &usages, expiration_seconds)?;
            files.push((
                format!("{name}.csr"),
                FileKind::Request,
                request.to_pem().into_bytes(),
            ));
            files.push((
                format!("{name}-csr.yaml"),
                FileKind::Manifest,
                manifest::to_yaml(&object)?.into_bytes(),
            ));
            if let Some(spec) = &bind {
                let b = rbac::binding(spec, &request.subject().common_name)?;
                files.push((
                    format!("{name}-rbac.yaml"),
                    FileKind::Manifest,
                    rbac::to_yaml(&b)?.into_bytes(),
                ));
            }
            for path in write_new(&out_dir, files)? {
                out.line(format!("wrote {}", path.display()));
            }
            out.line(format!(
                "next: kubectl apply -f {0}; kubectl certificate approve {name}; kubectl get csr {name} -o yaml > {name}-issued.yaml; kpki csr extract {name}-issued.yaml --out {name}.crt",
                out_dir.join(format!("{name}-csr.yaml")).display()
            ));
            Ok(0)
        }
        CsrCommand::Sign {
            file,
            cert_dir,
            ca_cert,
            ca_key,
            out: out_file,
            manifest_out,
            signing_duration,
            allow_system_masters,
        } => {
            let now = crate::now::now()?;
            let object = manifest::parse(&read(&file)?).map_err(|e| e.in_file(&file))?;
            let request = manifest::request(&object).map_err(|e| e.in_file(&file))?;
            let usages = object.spec.usages.clone().unwrap_or_default();
            let signer_name = object.spec.signer_name.clone();
            let req = SignRequest {
                csr: &request,
                signer_name: &signer_name,
                usages: &usages,
                expiration_seconds: object.spec.expiration_seconds.map(i64::from),
            };
            signer::check(&req, allow_system_masters).map_err(|e| e.in_file(&file))?;
            let (ca_cert_path, ca_key_path) = match (ca_cert, ca_key) {
                (Some(c), Some(k)) => (c, k),
                _ if signer_name.starts_with("kubernetes.io/") => {
                    (cert_dir.join("ca.crt"), cert_dir.join("ca.key"))
                }
                _ => {
                    return Err(format!(
                        "{signer_name}: a custom signer needs its CA: pass --ca-cert and --ca-key"
                    )
                    .into())
                }
            };
            let ca = Certificate::from_pem(&read(&ca_cert_path)?)
                .map_err(|e| e.in_file(&ca_cert_path))?;
            let ca_key =
                PrivateKey::from_pem(&read(&ca_key_path)?).map_err(|e| e.in_file(&ca_key_path))?;
            if !ca.is_ca() {
                return Err(format!("{}: is not a CA certificate", ca_cert_path.display()).into());
            }
            let max = crate::config::duration(&signing_duration, "--signing-duration")?;
            let cert =
                signer::sign(&req, &ca, &ca_key, now, max).map_err(|e| e.in_file(&ca_cert_path))?;
            if let Some(path) = &manifest_out {
                let issued = manifest::issued(object, &cert, now);
                write_new_file(
                    path,
                    FileKind::Manifest,
                    manifest::to_yaml(&issued)?.into_bytes(),
                )?;
            }
            match &out_file {
                Some(path) => {
                    write_new_file(path, FileKind::Certificate, cert.to_pem().into_bytes())?
                }
                None => out.stdout.push_str(&cert.to_pem()),
            }
            Ok(0)
        }
        CsrCommand::Extract {
            file,
            out: out_file,
        } => {
            let object = manifest::parse(&read(&file)?).map_err(|e| e.in_file(&file))?;
            let pem = manifest::certificate(&object).map_err(|e| e.in_file(&file))?;
            match out_file {
                Some(path) => write_new_file(&path, FileKind::Certificate, pem.into_bytes())?,
                None => out.stdout.push_str(&pem),
            }
            Ok(0)
        }
    }
}

/// `kpki certs generate-csr`.
pub fn generate(args: &PkiArgs, out: &mut Out) -> Result<u8, Failure> {
    let crate::config::Resolved { layout, dirs, .. } = crate::config::layout(args, true)?;
    let existing = store::load(&dirs, &layout)?;
    let files = pki_core::external::generate_csrs(&layout, &dirs, &existing)?;
    for path in store::commit(&dirs, &files)? {
        out.line(format!("[certs] Writing {}", path.display()));
    }
    out.line("next: sign every .csr with the external CA; put each certificate beside its key (apiserver.crt, …) and each kubeconfig's as <file>.crt (admin.conf.crt, …); then run kpki init with the CA key absent");
    Ok(0)
}
