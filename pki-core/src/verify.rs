//! `verify`: the whole tree checked at once, every problem reported (not just the first).
//!
//! Each leaf chains to its CA with the right extended key usage and matches its key; CAs are
//! CAs and distinct; kubeconfigs carry ca.crt as their CA, client certificates that chain and
//! match their keys, and servers the API server's certificate covers; sa.key and sa.pub are a
//! pair; nothing has expired; private keys are not readable by others. With a configuration,
//! the SANs it wants are checked too.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::cert::Certificate;
use crate::config::ClusterConfig;
use crate::inventory::{self, Found};
use crate::key::PrivateKey;
use crate::kubeconfig;
use crate::layout::{CertEntry, ClientCert, Layout};
use crate::tree::{Dirs, Location, Tree};

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Expires within the warning window.
    Warning,
    /// Broken now: the cluster will not work, or is not safe, with this file.
    Error,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// How bad.
    pub severity: Severity,
    /// The file at fault.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

/// What to check against.
#[derive(Clone, Debug)]
pub struct VerifyOptions<'a> {
    /// "Now".
    pub now: SystemTime,
    /// Certificates expiring within this window are warnings.
    pub warn_within: Duration,
    /// When set, the SANs this configuration wants must be covered.
    pub config: Option<&'a ClusterConfig>,
}

struct Checker<'a> {
    tree: &'a Tree,
    dirs: &'a Dirs,
    opts: &'a VerifyOptions<'a>,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn error(&mut self, file: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            severity: Severity::Error,
            file: file.into(),
            message: message.into(),
        });
    }

    fn path(&self, location: Location, rel: &str) -> String {
        self.dirs.path(location, rel).display().to_string()
    }

    fn validity(&mut self, file: &str, cert: &Certificate) {
        let now = self.opts.now;
        if cert.not_after() < now {
            self.error(
                file,
                format!("expired on {}", crate::expiry::rfc3339(cert.not_after())),
            );
        } else if cert.not_before() > now {
            self.error(
                file,
                format!(
                    "not valid before {}",
                    crate::expiry::rfc3339(cert.not_before())
                ),
            );
        } else if cert.not_after() < now + self.opts.warn_within {
            self.problems.push(Problem {
                severity: Severity::Warning,
                file: file.into(),
                message: format!(
                    "expires on {}, within the warning window",
                    crate::expiry::rfc3339(cert.not_after())
                ),
            });
        }
    }

    fn private_mode(&mut self, location: Location, rel: &str) {
        if let Some(mode) = self.tree.mode(location, rel) {
            if mode & 0o077 != 0 {
                let p = self.path(location, rel);
                self.error(
                    p,
                    format!("mode {mode:04o} lets others read a private key; expected 0600"),
                );
            }
        }
    }

    fn load_cert(&mut self, rel: &str) -> Option<Certificate> {
        match inventory::cert(self.tree, self.dirs, rel) {
            Found::Present(c) => Some(c),
            Found::Missing => {
                let p = self.path(Location::CertDir, rel);
                self.error(p, "missing");
                None
            }
            Found::Invalid(e) => {
                let p = self.path(Location::CertDir, rel);
                self.error(p, e.split(": ").skip(1).collect::<Vec<_>>().join(": "));
                None
            }
        }
    }

    fn load_key(
        &mut self,
        rel: &str,
        cert: Option<&Certificate>,
        cert_rel: &str,
    ) -> Option<PrivateKey> {
        let p = self.path(Location::CertDir, rel);
        match inventory::key(self.tree, self.dirs, rel) {
            Found::Present(k) => {
                self.private_mode(Location::CertDir, rel);
                if let Some(c) = cert {
                    if !c.matches_key(&k) {
                        self.error(p, format!("does not match {cert_rel}"));
                    }
                }
                Some(k)
            }
            Found::Missing => None,
            Found::Invalid(e) => {
                self.error(p, e.split(": ").skip(1).collect::<Vec<_>>().join(": "));
                None
            }
        }
    }
}

/// Checks the tree against its layout; returns every problem, errors and warnings, in table
/// order.
pub fn verify(tree: &Tree, dirs: &Dirs, layout: &Layout, opts: &VerifyOptions<'_>) -> Vec<Problem> {
    let mut c = Checker {
        tree,
        dirs,
        opts,
        problems: Vec::new(),
    };
    let absent = crate::expiry::absent_groups(tree, layout);
    let in_cluster = |e: &&CertEntry| !absent.contains(e.ca.as_ref().unwrap_or(&e.name));

    let mut cas: Vec<(&str, Certificate)> = Vec::new();
    for entry in layout.cas().filter(in_cluster) {
        let file = c.path(Location::CertDir, &entry.cert_file());
        let Some(cert) = c.load_cert(&entry.cert_file()) else {
            continue;
        };
        if !cert.is_ca() {
            c.error(&file, "is not a CA (basicConstraints CA:TRUE missing)");
        }
        if !cert.is_self_signed() {
            c.error(
                &file,
                "is not self-signed: the CAs of this layout are roots",
            );
        }
        c.load_key(&entry.key_file(), Some(&cert), &entry.cert_file());
        c.validity(&file, &cert);
        for (other, other_cert) in &cas {
            if other_cert.public_key_der() == cert.public_key_der() {
                c.error(
                    &file,
                    format!("has the same key as the {other} CA: each CA must be distinct"),
                );
            }
        }
        cas.push((entry.name.as_str(), cert));
    }
    let ca_of = |name: &str, cas: &[(&str, Certificate)]| {
        cas.iter().find(|(n, _)| *n == name).map(|(_, c)| c.clone())
    };

    let mut leaves: Vec<(&str, Certificate)> = Vec::new();
    for entry in layout.leaves().filter(in_cluster) {
        let file = c.path(Location::CertDir, &entry.cert_file());
        let Some(cert) = c.load_cert(&entry.cert_file()) else {
            continue;
        };
        let ca_name = entry.ca.as_deref().expect("leaf");
        if let Some(ca) = ca_of(ca_name, &cas) {
            if !cert.is_issued_by(&ca) {
                let ca_file = layout
                    .cert(ca_name)
                    .map(|s| s.cert_file())
                    .unwrap_or_default();
                c.error(
                    &file,
                    format!(
                        "is not signed by {ca_file} (issuer {:?})",
                        cert.issuer_rfc4514()
                    ),
                );
            }
        }
        if cert.is_ca() {
            c.error(&file, "is a CA certificate; expected a leaf");
        }
        if cert.subject_name() == cert.tbs_issuer() {
            c.error(
                &file,
                "has its issuer's subject: verifiers take it for a self-signed certificate",
            );
        }
        let ekus = cert.ext_key_usages();
        for u in &entry.usages {
            if !ekus.contains(u) {
                c.error(&file, format!("lacks the extended key usage {}", u.name()));
            }
        }
        if c.load_key(&entry.key_file(), Some(&cert), &entry.cert_file())
            .is_none()
            && !tree.contains(Location::CertDir, &entry.key_file())
        {
            let p = c.path(Location::CertDir, &entry.key_file());
            c.error(p, "missing");
        }
        if opts.config.is_some() || layout.profile != "kubeadm" {
            if let Some(missing) = cert.sans().covers(&entry.sans) {
                c.error(
                    &file,
                    format!("does not cover {missing}, which the configuration requires"),
                );
            }
        }
        c.validity(&file, &cert);
        leaves.push((entry.name.as_str(), cert));
    }

    // Kubeconfigs: CA data, client certificate, key, server.
    let apiserver = ["apiserver", "kube-api-server"]
        .iter()
        .find_map(|n| ca_of(n, &leaves));
    for k in &layout.kubeconfigs {
        let file = c.path(Location::KubeconfigDir, &k.file);
        let loaded = match inventory::kubeconfig(tree, dirs, k) {
            Found::Missing if k.optional => continue,
            Found::Missing => {
                c.error(&file, "missing");
                continue;
            }
            Found::Invalid(e) => {
                c.error(&file, e.split(": ").skip(1).collect::<Vec<_>>().join(": "));
                continue;
            }
            Found::Present(l) => l,
        };
        c.private_mode(Location::KubeconfigDir, &k.file);
        if let Some(ca) = ca_of(&k.ca, &cas) {
            match &loaded.current.ca_pem {
                Some(pem) if kubeconfig::same_pem(pem, &ca.to_pem()) => {}
                Some(_) => c.error(
                    &file,
                    "certificate-authority-data is not ca.crt (stale CA data)",
                ),
                None => c.error(&file, "has no certificate-authority-data"),
            }
            if !loaded.client_cert.is_issued_by(&ca) {
                c.error(&file, "its client certificate is not signed by ca.crt");
            }
        }
        if let ClientCert::Entry(name) = &k.client {
            if let Some(cert) = ca_of(name, &leaves) {
                if cert != loaded.client_cert {
                    c.error(
                        &file,
                        format!(
                            "embeds a certificate other than {name}.crt (stale after a renewal?)"
                        ),
                    );
                }
            }
        }
        if !loaded
            .client_cert
            .ext_key_usages()
            .contains(&crate::cert::ExtKeyUsage::ClientAuth)
        {
            c.error(&file, "its client certificate lacks the client auth usage");
        }
        match loaded
            .current
            .client_key_pem
            .as_deref()
            .map(PrivateKey::from_pem)
        {
            Some(Ok(key)) if !loaded.client_cert.matches_key(&key) => c.error(
                &file,
                "client-key-data does not match client-certificate-data",
            ),
            Some(Err(e)) => c.error(&file, format!("client-key-data: {e}")),
            _ => {}
        }
        if let (Some(server), Some(apiserver)) = (&loaded.current.server, &apiserver) {
            if let Some(host) = server_host(server) {
                if !covers_host(apiserver, &host) {
                    c.error(&file, format!("its server {server} is not covered by the API server certificate's SANs"));
                }
            }
        }
        let cert_file = loaded.client_cert_path.clone().unwrap_or(file);
        c.validity(&cert_file, &loaded.client_cert);
    }

    // The service-account pair.
    if let Some(sa) = &layout.service_account {
        let key = c.load_key(&sa.key_file, None, "");
        c.private_mode(Location::CertDir, &sa.pub_file);
        match (key, tree.text(Location::CertDir, &sa.pub_file)) {
            (Some(k), Some(text)) => {
                let ok = pem::parse(text.trim_start())
                    .ok()
                    .filter(|b| b.tag() == "PUBLIC KEY")
                    .is_some_and(|b| k.matches_public_key(b.contents()));
                if !ok {
                    let p = c.path(Location::CertDir, &sa.pub_file);
                    c.error(p, format!("is not the public half of {}", sa.key_file));
                }
            }
            (None, _) if !tree.contains(Location::CertDir, &sa.key_file) => {
                let p = c.path(Location::CertDir, &sa.key_file);
                c.error(p, "missing");
            }
            (Some(_), None) => {
                let p = c.path(Location::CertDir, &sa.pub_file);
                c.error(p, "missing");
            }
            _ => {}
        }
    }
    c.problems
}

/// The host of `https://host:port` (brackets removed for IPv6).
fn server_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split('/').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| h.to_string());
    }
    Some(
        authority
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(authority)
            .to_string(),
    )
}

/// Whether a serving certificate is valid for `host` (exact names and `*.` wildcards).
pub fn covers_host(cert: &Certificate, host: &str) -> bool {
    let sans = cert.sans();
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return sans.ips.contains(&ip);
    }
    let host = host.to_ascii_lowercase();
    sans.dns.iter().any(|d| {
        let d = d.to_ascii_lowercase();
        match d.strip_prefix("*.") {
            Some(suffix) => host.split_once('.').is_some_and(|(_, rest)| rest == suffix),
            None => d == host,
        }
    })
}
