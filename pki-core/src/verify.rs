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
use crate::spec::{CertSpec, KUBEADM_CERTS, KUBEADM_KUBECONFIGS, SA_KEY, SA_PUB};
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

/// Checks the tree; returns every problem, errors and warnings, in table order.
pub fn verify(tree: &Tree, dirs: &Dirs, opts: &VerifyOptions<'_>) -> Vec<Problem> {
    let mut c = Checker {
        tree,
        dirs,
        opts,
        problems: Vec::new(),
    };
    let etcd_absent = KUBEADM_CERTS.iter().filter(|s| s.local_etcd_only).all(|s| {
        !tree.contains(Location::CertDir, &s.cert_file())
            && !tree.contains(Location::CertDir, &s.key_file())
    });
    let specs: Vec<&CertSpec> = KUBEADM_CERTS
        .iter()
        .filter(|s| !(s.local_etcd_only && etcd_absent))
        .collect();

    let mut cas: Vec<(&str, Certificate)> = Vec::new();
    for spec in specs.iter().filter(|s| s.is_ca()) {
        let file = c.path(Location::CertDir, &spec.cert_file());
        let Some(cert) = c.load_cert(&spec.cert_file()) else {
            continue;
        };
        if !cert.is_ca() {
            c.error(&file, "is not a CA (basicConstraints CA:TRUE missing)");
        }
        if !cert.is_self_signed() {
            c.error(&file, "is not self-signed: kubeadm's CAs are roots");
        }
        c.load_key(&spec.key_file(), Some(&cert), &spec.cert_file());
        c.validity(&file, &cert);
        for (other, other_cert) in &cas {
            if other_cert.public_key_der() == cert.public_key_der() {
                c.error(
                    &file,
                    format!("has the same key as the {other} CA: each CA must be distinct"),
                );
            }
        }
        cas.push((spec.name, cert));
    }
    let ca_of = |name: &str, cas: &[(&str, Certificate)]| {
        cas.iter().find(|(n, _)| *n == name).map(|(_, c)| c.clone())
    };

    for spec in specs.iter().filter(|s| !s.is_ca()) {
        let file = c.path(Location::CertDir, &spec.cert_file());
        let Some(cert) = c.load_cert(&spec.cert_file()) else {
            continue;
        };
        let ca_name = spec.ca.expect("leaf");
        if let Some(ca) = ca_of(ca_name, &cas) {
            if !cert.is_issued_by(&ca) {
                let ca_file = CertSpec::by_name(ca_name)
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
        let ekus = cert.ext_key_usages();
        for u in spec.usages {
            if !ekus.contains(u) {
                c.error(&file, format!("lacks the extended key usage {}", u.name()));
            }
        }
        match c.load_key(&spec.key_file(), Some(&cert), &spec.cert_file()) {
            Some(_) => {}
            None if !tree.contains(Location::CertDir, &spec.key_file()) => {
                let p = c.path(Location::CertDir, &spec.key_file());
                c.error(p, "missing");
            }
            None => {}
        }
        if let Some(config) = opts.config {
            if let Some(missing) = cert.sans().covers(&spec.sans(config)) {
                c.error(
                    &file,
                    format!("does not cover {missing}, which the configuration requires"),
                );
            }
        }
        c.validity(&file, &cert);
    }

    // Kubeconfigs: CA data, client certificate, key, server.
    let ca = ca_of("ca", &cas);
    let apiserver = inventory::cert(tree, dirs, "apiserver.crt")
        .present()
        .cloned();
    for spec in KUBEADM_KUBECONFIGS {
        let file = c.path(Location::KubeconfigDir, spec.file);
        let loaded = match inventory::kubeconfig(tree, dirs, spec) {
            Found::Missing if spec.optional => continue,
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
        c.private_mode(Location::KubeconfigDir, spec.file);
        if let Some(ca) = &ca {
            match &loaded.current.ca_pem {
                Some(pem) if kubeconfig::same_pem(pem, &ca.to_pem()) => {}
                Some(_) => c.error(
                    &file,
                    "certificate-authority-data is not ca.crt (stale CA data)",
                ),
                None => c.error(&file, "has no certificate-authority-data"),
            }
            if !loaded.client_cert.is_issued_by(ca) {
                c.error(&file, "its client certificate is not signed by ca.crt");
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
            Some(Ok(k)) if !loaded.client_cert.matches_key(&k) => c.error(
                &file,
                "client-key-data does not match client-certificate-data",
            ),
            Some(Err(e)) => c.error(&file, format!("client-key-data: {e}")),
            _ => {}
        }
        if let (Some(server), Some(apiserver)) = (&loaded.current.server, &apiserver) {
            if let Some(host) = server_host(server) {
                if !covers_host(apiserver, &host) {
                    c.error(
                        &file,
                        format!("its server {server} is not covered by apiserver.crt's SANs"),
                    );
                }
            }
        }
        let cert_file = loaded.client_cert_path.clone().unwrap_or(file);
        c.validity(&cert_file, &loaded.client_cert);
    }

    // The service-account pair.
    let key = c.load_key(SA_KEY, None, "");
    c.private_mode(Location::CertDir, SA_PUB);
    match (key, tree.text(Location::CertDir, SA_PUB)) {
        (Some(k), Some(text)) => {
            let ok = pem::parse(text.trim_start())
                .ok()
                .filter(|b| b.tag() == "PUBLIC KEY")
                .is_some_and(|b| k.matches_public_key(b.contents()));
            if !ok {
                let p = c.path(Location::CertDir, SA_PUB);
                c.error(p, format!("is not the public half of {SA_KEY}"));
            }
        }
        (None, _) if !tree.contains(Location::CertDir, SA_KEY) => {
            let p = c.path(Location::CertDir, SA_KEY);
            c.error(p, "missing");
        }
        (Some(_), None) => {
            let p = c.path(Location::CertDir, SA_PUB);
            c.error(p, "missing");
        }
        _ => {}
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
