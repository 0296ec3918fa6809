//! `certs renew`: re-issue certificates keeping what the existing ones say (reference §5).
//!
//! Subject, SANs and extended key usages are copied from the certificate on disk — the config's
//! SANs are ignored, as kubeadm does — and a new key is generated unless the key is to be
//! reused. Kubeconfigs get a new client certificate and key and the current CA as their CA
//! data; the rest of the file is kept. A kubeconfig that embeds a certificate entry (the hard
//! way) is rewritten whenever that entry is renewed. CAs are not renewed here, nor is
//! kubelet.conf (the kubelet rotates its own certificate). The result is the set of files to
//! replace; writing them safely is [`store::replace`](crate::store::replace)'s job.

use std::time::{Duration, SystemTime};

use crate::cert::{self, Certificate, CertificateParams, Signer, BACKDATE};
use crate::error::{Error, Result};
use crate::inventory::{self, Found};
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::kubeconfig;
use crate::layout::{ClientCert, KubeconfigEntry, Layout};
use crate::pki::generate_keys;
use crate::spec;
use crate::tree::{Dirs, File, FileKind, Location, Tree};

/// Something `renew` can renew.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A leaf certificate entry, by name.
    Cert(String),
    /// A kubeconfig with its own client certificate, by file name.
    Kubeconfig(String),
}

impl Target {
    /// The name used on the command line.
    pub fn name(&self) -> &str {
        match self {
            Target::Cert(s) | Target::Kubeconfig(s) => s,
        }
    }
}

/// `all`: every leaf and every renewable kubeconfig with its own certificate, sorted by name
/// as kubeadm does them.
pub fn all_targets(layout: &Layout) -> Vec<Target> {
    let mut t: Vec<Target> = layout
        .leaves()
        .map(|c| Target::Cert(c.name.clone()))
        .chain(
            layout
                .kubeconfigs
                .iter()
                .filter(|k| k.renewable && matches!(k.client, ClientCert::Own { .. }))
                .map(|k| Target::Kubeconfig(k.file.clone())),
        )
        .collect();
    t.sort_by(|a, b| a.name().cmp(b.name()));
    t
}

/// Parses names from the command line (`all`, certificate names, kubeconfig files).
pub fn targets(layout: &Layout, names: &[String]) -> Result<Vec<Target>> {
    if names.is_empty() {
        return Err(Error::invalid(
            "certs renew",
            "name what to renew: all, or certificate and kubeconfig names",
        ));
    }
    let mut out = Vec::new();
    let mut push = |t: Target| {
        if !out.contains(&t) {
            out.push(t);
        }
    };
    for name in names {
        if name == "all" {
            all_targets(layout).into_iter().for_each(&mut push);
            continue;
        }
        if let Some(entry) = layout.cert(name) {
            if entry.is_ca() {
                return Err(Error::invalid(
                    name.clone(),
                    "CAs are not renewed by renew: a new CA invalidates everything it signed; see docs/rotation.md (rotating a CA)",
                ));
            }
            push(Target::Cert(entry.name.clone()));
        } else if let Some(k) = layout.kubeconfig(name) {
            if !k.renewable {
                return Err(Error::invalid(
                    name.clone(),
                    "the kubelet rotates its own client certificate (rotateCertificates); kpki does not renew kubelet.conf",
                ));
            }
            match &k.client {
                ClientCert::Own { .. } => push(Target::Kubeconfig(k.file.clone())),
                ClientCert::Entry(e) => push(Target::Cert(e.clone())),
            }
        } else {
            let mut known: Vec<String> = all_targets(layout)
                .iter()
                .take(12)
                .map(|t| t.name().to_string())
                .collect();
            known.insert(0, "all".into());
            return Err(Error::invalid(
                name.clone(),
                format!("unknown certificate; expected one of {}", known.join(", ")),
            ));
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
    /// Renewed; `description` says what it is for.
    Renewed {
        /// The target's name.
        name: String,
        /// Its description.
        description: String,
    },
    /// Not due: it expires after the `--if-expiring-within` window.
    NotDue {
        /// The target's name.
        name: String,
        /// Seconds left.
        residual_seconds: i64,
    },
    /// Its CA's key is absent: it cannot be renewed here.
    ExternalCa {
        /// The target's name.
        name: String,
        /// The CA's name.
        ca: String,
    },
    /// The file does not exist.
    Missing {
        /// The target's name.
        name: String,
    },
}

/// The outcome: files to replace, and what happened.
#[derive(Debug, Default)]
pub struct RenewPlan {
    /// New contents for existing files (and new keys).
    pub files: Vec<File>,
    /// One event per target.
    pub events: Vec<RenewEvent>,
    /// The components that read renewed files and must be restarted to use them.
    pub restart: Vec<&'static str>,
}

impl RenewPlan {
    /// Whether anything is to be written.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    fn restart(&mut self, components: &[&'static str]) {
        for c in components {
            if !self.restart.contains(c) {
                self.restart.push(c);
            }
        }
    }
}

/// Parameters for a renewal: what the existing certificate says, new validity.
fn params_from(existing: &Certificate, opts: &RenewOptions) -> CertificateParams {
    CertificateParams {
        subject: existing.subject(),
        subject_name: Some(existing.subject_name().clone()),
        is_ca: false,
        key_usages: spec::key_usages(false),
        ext_key_usages: existing.ext_key_usages(),
        sans: existing.sans(),
        not_before: opts.now - BACKDATE,
        not_after: opts.now + opts.validity,
        basic_constraints_on_leaf: true,
    }
}

fn residual(cert: &Certificate, now: SystemTime) -> i64 {
    match cert.not_after().duration_since(now) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

struct Ca {
    cert: Certificate,
    key: PrivateKey,
}

struct Job {
    target: Target,
    existing: Certificate,
    old_key: Option<PrivateKey>,
    ca: String,
}

/// Plans the renewal of `targets` in `tree`.
pub fn renew(
    tree: &Tree,
    dirs: &Dirs,
    layout: &Layout,
    targets: &[Target],
    opts: &RenewOptions,
) -> Result<RenewPlan> {
    let mut plan = RenewPlan::default();
    let mut jobs: Vec<Job> = Vec::new();
    let mut cas: std::collections::BTreeMap<String, Ca> = Default::default();
    let absent = crate::expiry::absent_groups(tree, layout);
    for target in targets {
        let (existing, old_key, ca_name) = match target {
            Target::Cert(name) => {
                let entry = layout.cert(name).expect("targets come from the layout");
                let ca = entry.ca.clone().expect("targets are leaves");
                if absent.contains(&ca) {
                    continue; // external etcd: not this cluster's
                }
                match inventory::cert(tree, dirs, &entry.cert_file()) {
                    Found::Missing => {
                        plan.events.push(RenewEvent::Missing { name: name.clone() });
                        continue;
                    }
                    Found::Invalid(e) => return Err(Error::invalid("renew", e)),
                    Found::Present(c) => {
                        let key = match inventory::key(tree, dirs, &entry.key_file()) {
                            Found::Present(k) => Some(k),
                            Found::Invalid(e) => return Err(Error::invalid("renew", e)),
                            Found::Missing => None,
                        };
                        (c, key, ca)
                    }
                }
            }
            Target::Kubeconfig(file) => {
                let k = layout
                    .kubeconfig(file)
                    .expect("targets come from the layout");
                match inventory::kubeconfig(tree, dirs, k) {
                    // super-admin.conf does not exist on clusters made before kubeadm v1.29.
                    Found::Missing if k.optional => continue,
                    Found::Missing => {
                        plan.events.push(RenewEvent::Missing { name: file.clone() });
                        continue;
                    }
                    Found::Invalid(e) => return Err(Error::invalid("renew", e)),
                    Found::Present(loaded) => {
                        if loaded.client_cert_path.is_some() {
                            return Err(Error::file(
                                dirs.path(Location::KubeconfigDir, &k.file),
                                "refers to its client certificate by path; renew that file instead",
                            ));
                        }
                        let key = loaded
                            .current
                            .client_key_pem
                            .as_deref()
                            .map(PrivateKey::from_pem)
                            .transpose()
                            .map_err(|e| e.in_file(dirs.path(Location::KubeconfigDir, &k.file)))?;
                        (loaded.client_cert, key, k.ca.clone())
                    }
                }
            }
        };
        if let Some(window) = opts.if_expiring_within {
            let left = residual(&existing, opts.now);
            if left >= window.as_secs() as i64 {
                plan.events.push(RenewEvent::NotDue {
                    name: target.name().into(),
                    residual_seconds: left,
                });
                continue;
            }
        }
        if !cas.contains_key(&ca_name) {
            let spec = layout
                .cert(&ca_name)
                .ok_or_else(|| Error::invalid("renew", format!("unknown CA {ca_name}")))?;
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
                    cas.insert(ca_name.clone(), Ca { cert: ca_cert, key });
                }
                Found::Missing => {
                    plan.events.push(RenewEvent::ExternalCa {
                        name: target.name().into(),
                        ca: ca_name.clone(),
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
            target: target.clone(),
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
        let ca = &cas[&job.ca];
        let cert = cert::issue(
            &params_from(&job.existing, opts),
            key.public_key_der(),
            &cert::random_serial()?,
            Signer::Ca(&ca.cert, &ca.key),
        )?;
        match &job.target {
            Target::Cert(name) => {
                let entry = layout.cert(name).expect("from the layout");
                plan.files.push(File {
                    location: Location::CertDir,
                    path: entry.cert_file(),
                    kind: FileKind::Certificate,
                    contents: cert.to_pem().into_bytes(),
                });
                if !opts.reuse_key {
                    plan.files.push(File {
                        location: Location::CertDir,
                        path: entry.key_file(),
                        kind: FileKind::PrivateKey,
                        contents: key.to_pem()?.as_bytes().to_vec(),
                    });
                }
                plan.events.push(RenewEvent::Renewed {
                    name: name.clone(),
                    description: entry.description.clone(),
                });
                plan.restart(&entry.used_by);
                // The kubeconfigs that embed this certificate carry the new pair too.
                for k in layout.kubeconfigs_embedding(name) {
                    if tree.contains(Location::KubeconfigDir, &k.file) {
                        let yaml = renewed_kubeconfig(tree, dirs, k, &ca.cert, &cert, &key)?;
                        plan.files.push(File {
                            location: Location::KubeconfigDir,
                            path: k.file.clone(),
                            kind: FileKind::Kubeconfig,
                            contents: yaml.into_bytes(),
                        });
                        plan.restart(&k.used_by);
                    }
                }
            }
            Target::Kubeconfig(file) => {
                let k = layout.kubeconfig(file).expect("from the layout");
                let yaml = renewed_kubeconfig(tree, dirs, k, &ca.cert, &cert, &key)?;
                plan.files.push(File {
                    location: Location::KubeconfigDir,
                    path: k.file.clone(),
                    kind: FileKind::Kubeconfig,
                    contents: yaml.into_bytes(),
                });
                plan.events.push(RenewEvent::Renewed {
                    name: file.clone(),
                    description: k.description.clone(),
                });
                plan.restart(&k.used_by);
            }
        }
    }
    Ok(plan)
}

/// The kubeconfig with the current user's credentials and the current cluster's CA replaced.
fn renewed_kubeconfig(
    tree: &Tree,
    dirs: &Dirs,
    k: &KubeconfigEntry,
    ca: &Certificate,
    cert: &Certificate,
    key: &PrivateKey,
) -> Result<String> {
    let Found::Present(loaded) = inventory::kubeconfig(tree, dirs, k) else {
        return Err(Error::file(
            dirs.path(Location::KubeconfigDir, &k.file),
            "cannot be read to renew it",
        ));
    };
    kubeconfig::to_yaml(&kubeconfig::set_credentials(
        loaded.config,
        ca,
        cert,
        Some(key),
    )?)
}
