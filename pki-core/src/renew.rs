//! `certs renew`: re-issue certificates keeping what the existing ones say (reference §5).
//!
//! Subject, SANs and extended key usages are copied from the certificate on disk — the config's
//! SANs are ignored, as kubeadm does — and a new key is generated unless the key is to be
//! reused. Kubeconfigs get a new client certificate and key and the current `ca.crt` as their
//! CA data; the rest of the file is kept. CAs are not renewed here, nor is kubelet.conf (the
//! kubelet rotates its own certificate). The result is the set of files to replace; writing
//! them safely is [`store::replace`](crate::store::replace)'s job.

use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::cert::{self, Certificate, CertificateParams, Signer, BACKDATE};
use crate::error::{Error, Result};
use crate::inventory::{self, Found};
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::kubeconfig;
use crate::pki::generate_keys;
use crate::spec::{self, CertSpec, KubeconfigSpec, KUBEADM_CERTS, KUBEADM_KUBECONFIGS};
use crate::tree::{Dirs, File, FileKind, Location, Tree};

/// Something `renew` can renew.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A leaf certificate of the table.
    Cert(&'static CertSpec),
    /// A kubeconfig's client certificate.
    Kubeconfig(&'static KubeconfigSpec),
}

impl Target {
    /// The name used on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Target::Cert(s) => s.name,
            Target::Kubeconfig(k) => k.file,
        }
    }
}

/// `all`: every leaf and every renewable kubeconfig, sorted by name as kubeadm does them.
pub fn all_targets() -> Vec<Target> {
    let mut t: Vec<Target> = KUBEADM_CERTS
        .iter()
        .filter(|s| !s.is_ca())
        .map(Target::Cert)
        .chain(
            KUBEADM_KUBECONFIGS
                .iter()
                .filter(|k| k.renewable)
                .map(Target::Kubeconfig),
        )
        .collect();
    t.sort_by_key(|t| t.name());
    t
}

/// Parses names from the command line (`all`, phase names, kubeconfig files).
pub fn targets(names: &[String]) -> Result<Vec<Target>> {
    if names.is_empty() {
        return Err(Error::invalid(
            "certs renew",
            "name what to renew: all, or certificate and kubeconfig names",
        ));
    }
    let mut out = Vec::new();
    for name in names {
        if name == "all" {
            for t in all_targets() {
                if !out.contains(&t) {
                    out.push(t);
                }
            }
            continue;
        }
        let t = if let Some(spec) = CertSpec::by_name(name) {
            if spec.is_ca() {
                return Err(Error::invalid(
                    name.clone(),
                    "CAs are not renewed by renew: a new CA invalidates everything it signed; see docs/rotation.md (rotating a CA)",
                ));
            }
            Target::Cert(spec)
        } else if let Some(k) = KubeconfigSpec::by_name(name) {
            if !k.renewable {
                return Err(Error::invalid(
                    name.clone(),
                    "the kubelet rotates its own client certificate (rotateCertificates); kpki does not renew kubelet.conf",
                ));
            }
            Target::Kubeconfig(k)
        } else {
            let mut known: Vec<&str> = all_targets().iter().map(|t| t.name()).collect();
            known.insert(0, "all");
            return Err(Error::invalid(
                name.clone(),
                format!("unknown certificate; expected one of {}", known.join(", ")),
            ));
        };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// How to renew.
#[derive(Clone, Debug)]
pub struct RenewOptions {
    /// "Now".
    pub now: SystemTime,
    /// New validity of each certificate.
    pub validity: Duration,
    /// The algorithm of new keys; `None` keeps each key's current algorithm.
    pub key_algorithm: Option<KeyAlgorithm>,
    /// Keep the existing keys.
    pub reuse_key: bool,
    /// Renew only what expires within this window (cron).
    pub if_expiring_within: Option<Duration>,
}

/// What happened to one target.
#[derive(Clone, Debug, PartialEq)]
pub enum RenewEvent {
    /// Renewed; `description` is kubeadm's long name.
    Renewed {
        /// The target's name.
        name: &'static str,
        /// kubeadm's description of it.
        description: &'static str,
    },
    /// Not due: it expires after the `--if-expiring-within` window.
    NotDue {
        /// The target's name.
        name: &'static str,
        /// Seconds left.
        residual_seconds: i64,
    },
    /// Its CA's key is absent: it cannot be renewed here.
    ExternalCa {
        /// The target's name.
        name: &'static str,
        /// The CA's name.
        ca: &'static str,
    },
    /// The file does not exist.
    Missing {
        /// The target's name.
        name: &'static str,
    },
}

/// The outcome: files to replace, and what happened.
#[derive(Debug, Default)]
pub struct RenewPlan {
    /// New contents for existing files (and new keys).
    pub files: Vec<File>,
    /// One event per target.
    pub events: Vec<RenewEvent>,
}

impl RenewPlan {
    /// Whether anything is to be written.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The components that read the renewed files and must be restarted to use them.
    pub fn components_to_restart(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for e in &self.events {
            let RenewEvent::Renewed { name, .. } = e else {
                continue;
            };
            let users: &[&'static str] = match *name {
                "apiserver"
                | "apiserver-kubelet-client"
                | "front-proxy-client"
                | "apiserver-etcd-client" => &["kube-apiserver"],
                "etcd-server" | "etcd-peer" | "etcd-healthcheck-client" => &["etcd"],
                "controller-manager.conf" => &["kube-controller-manager"],
                "scheduler.conf" => &["kube-scheduler"],
                _ => &[], // admin.conf / super-admin.conf: read by each kubectl run
            };
            for u in users {
                if !out.contains(u) {
                    out.push(u);
                }
            }
        }
        out
    }
}

/// Parameters for a renewal: what the existing certificate says, new validity.
fn params_from(existing: &Certificate, opts: &RenewOptions) -> CertificateParams {
    CertificateParams {
        subject: existing.subject(),
        subject_name: None,
        is_ca: false,
        key_usages: spec::key_usages(false),
        ext_key_usages: existing.ext_key_usages(),
        sans: existing.sans(),
        not_before: opts.now - BACKDATE,
        not_after: opts.now + opts.validity,
        basic_constraints_on_leaf: true,
    }
}

struct Ca {
    cert: Certificate,
    key: PrivateKey,
}

/// Plans the renewal of `targets` in `tree`.
pub fn renew(
    tree: &Tree,
    dirs: &Dirs,
    targets: &[Target],
    opts: &RenewOptions,
) -> Result<RenewPlan> {
    let mut plan = RenewPlan::default();
    // First pass: decide what is due and load what it needs, so keys can be made in parallel.
    struct Job {
        target: Target,
        existing: Certificate,
        old_key: Option<PrivateKey>,
        ca: &'static str,
    }
    let mut jobs: Vec<Job> = Vec::new();
    let mut cas: std::collections::BTreeMap<&'static str, Ca> = Default::default();
    for target in targets {
        let (existing, old_key, ca_name) = match target {
            Target::Cert(spec) => {
                let ca = spec.ca.expect("targets are leaves");
                match inventory::cert(tree, dirs, &spec.cert_file()) {
                    Found::Missing => {
                        plan.events.push(RenewEvent::Missing { name: spec.name });
                        continue;
                    }
                    Found::Invalid(e) => return Err(Error::invalid("renew", e)),
                    Found::Present(c) => {
                        let key = match inventory::key(tree, dirs, &spec.key_file()) {
                            Found::Present(k) => Some(k),
                            Found::Invalid(e) => return Err(Error::invalid("renew", e)),
                            Found::Missing => None,
                        };
                        (c, key, ca)
                    }
                }
            }
            Target::Kubeconfig(k) => match inventory::kubeconfig(tree, dirs, k) {
                // super-admin.conf does not exist on clusters made before kubeadm v1.29.
                Found::Missing if k.optional => continue,
                Found::Missing => {
                    plan.events.push(RenewEvent::Missing { name: k.file });
                    continue;
                }
                Found::Invalid(e) => return Err(Error::invalid("renew", e)),
                Found::Present(loaded) => {
                    if loaded.client_cert_path.is_some() {
                        return Err(Error::file(
                            dirs.path(Location::KubeconfigDir, k.file),
                            "refers to its client certificate by path; renew that file instead",
                        ));
                    }
                    let key = loaded
                        .current
                        .client_key_pem
                        .as_deref()
                        .map(PrivateKey::from_pem)
                        .transpose()
                        .map_err(|e| e.in_file(dirs.path(Location::KubeconfigDir, k.file)))?;
                    (loaded.client_cert, key, "ca")
                }
            },
        };
        if let Some(window) = opts.if_expiring_within {
            let residual = match existing.not_after().duration_since(opts.now) {
                Ok(d) => d.as_secs() as i64,
                Err(e) => -(e.duration().as_secs() as i64),
            };
            if residual >= window.as_secs() as i64 {
                plan.events.push(RenewEvent::NotDue {
                    name: target.name(),
                    residual_seconds: residual,
                });
                continue;
            }
        }
        if !cas.contains_key(ca_name) {
            let spec = CertSpec::by_name(ca_name).expect("CA in table");
            let ca_cert = match inventory::cert(tree, dirs, &spec.cert_file()) {
                Found::Present(c) => c,
                Found::Missing => {
                    return Err(Error::file(
                        dirs.path(Location::CertDir, &spec.cert_file()),
                        "is missing; cannot renew what it signs",
                    ))
                }
                Found::Invalid(e) => return Err(Error::invalid("renew", e)),
            };
            match inventory::key(tree, dirs, &spec.key_file()) {
                Found::Present(key) => {
                    if !ca_cert.matches_key(&key) {
                        return Err(Error::file(
                            dirs.path(Location::CertDir, &spec.key_file()),
                            format!("does not match {}", spec.cert_file()),
                        ));
                    }
                    cas.insert(ca_name, Ca { cert: ca_cert, key });
                }
                Found::Missing => {
                    plan.events.push(RenewEvent::ExternalCa {
                        name: target.name(),
                        ca: ca_name,
                    });
                    continue;
                }
                Found::Invalid(e) => return Err(Error::invalid("renew", e)),
            }
        }
        if old_key.is_none() && opts.reuse_key {
            return Err(Error::invalid(
                target.name(),
                "--reuse-key: the existing key is missing",
            ));
        }
        jobs.push(Job {
            target: *target,
            existing,
            old_key,
            ca: ca_name,
        });
    }

    let algorithms: Vec<KeyAlgorithm> = jobs
        .iter()
        .filter(|_| !opts.reuse_key)
        .map(|j| {
            opts.key_algorithm
                .or(j.old_key.as_ref().map(PrivateKey::algorithm))
                .unwrap_or(KeyAlgorithm::Rsa2048)
        })
        .collect();
    let mut new_keys = generate_keys(&algorithms)?.into_iter();

    for job in jobs {
        let key = if opts.reuse_key {
            job.old_key.expect("checked above")
        } else {
            new_keys.next().expect("one per job")
        };
        let ca = &cas[job.ca];
        let cert = cert::issue(
            &params_from(&job.existing, opts),
            key.public_key_der(),
            &cert::random_serial()?,
            Signer::Ca(&ca.cert, &ca.key),
        )?;
        match job.target {
            Target::Cert(spec) => {
                plan.files.push(File {
                    location: Location::CertDir,
                    path: spec.cert_file(),
                    kind: FileKind::Certificate,
                    contents: cert.to_pem().into_bytes(),
                });
                if !opts.reuse_key {
                    plan.files.push(File {
                        location: Location::CertDir,
                        path: spec.key_file(),
                        kind: FileKind::PrivateKey,
                        contents: key.to_pem()?.as_bytes().to_vec(),
                    });
                }
                plan.events.push(RenewEvent::Renewed {
                    name: spec.name,
                    description: spec.description,
                });
            }
            Target::Kubeconfig(k) => {
                let yaml = renewed_kubeconfig(tree, dirs, k, &ca.cert, &cert, &key)?;
                plan.files.push(File {
                    location: Location::KubeconfigDir,
                    path: k.file.into(),
                    kind: FileKind::Kubeconfig,
                    contents: yaml.into_bytes(),
                });
                plan.events.push(RenewEvent::Renewed {
                    name: k.file,
                    description: k.description,
                });
            }
        }
    }
    Ok(plan)
}

/// The kubeconfig with the current user's credentials and the current cluster's CA replaced.
fn renewed_kubeconfig(
    tree: &Tree,
    dirs: &Dirs,
    spec: &KubeconfigSpec,
    ca: &Certificate,
    cert: &Certificate,
    key: &PrivateKey,
) -> Result<String> {
    let Found::Present(mut loaded) = inventory::kubeconfig(tree, dirs, spec) else {
        return Err(Error::file(
            dirs.path(Location::KubeconfigDir, spec.file),
            "vanished while renewing",
        ));
    };
    let current = loaded.current.clone();
    for c in loaded
        .config
        .clusters
        .iter_mut()
        .filter(|c| c.name == current.cluster_name)
    {
        if let Some(cluster) = c.cluster.as_mut() {
            cluster.certificate_authority_data = Some(B64.encode(ca.to_pem()));
            cluster.certificate_authority = None;
        }
    }
    for u in loaded
        .config
        .auth_infos
        .iter_mut()
        .filter(|u| u.name == current.user_name)
    {
        if let Some(user) = u.auth_info.as_mut() {
            user.client_certificate_data = Some(B64.encode(cert.to_pem()));
            user.client_key_data = Some(B64.encode(key.to_pem()?.as_bytes()).into());
        }
    }
    kubeconfig::to_yaml(&loaded.config)
}
