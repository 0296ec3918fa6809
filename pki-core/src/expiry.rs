//! `check-expiration`: when every certificate of a tree expires, as kubeadm reports it.
//!
//! Rows follow kubeadm (reference §4): the leaf certificates and the kubeconfigs' client
//! certificates sorted by name, then the CAs. Unlike kubeadm, kubelet.conf is listed too (when
//! it names a rotated certificate file, that file is read), and the report carries a status a
//! cron job can act on.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::inventory::{self, Found};
use crate::layout::Layout;
use crate::tree::{Dirs, Location, Tree};

/// One row of the report.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiryRow {
    /// Phase name (`apiserver`, `etcd-ca`) or kubeconfig file (`admin.conf`).
    pub name: String,
    /// The file the certificate was read from.
    #[serde(skip)]
    pub path: String,
    /// NotAfter, as RFC 3339 UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<String>,
    /// NotAfter as a time.
    #[serde(skip)]
    pub not_after: Option<SystemTime>,
    /// Seconds from now to NotAfter (negative when expired).
    pub residual_time: i64,
    /// The CA that signed it (omitted for CAs).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca_name: String,
    /// Whether its CA's key is absent, so kpki cannot renew it.
    pub externally_managed: bool,
    /// Whether the file is missing.
    pub missing: bool,
    /// Why the file cannot be read, when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether a missing file is acceptable (super-admin.conf predates nothing before v1.29).
    #[serde(skip)]
    pub optional: bool,
}

/// How a row (or the whole report) stands against a warning window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Valid beyond the window.
    Ok,
    /// Expires within the window.
    Warning,
    /// Expired, missing or unreadable.
    Critical,
}

impl ExpiryRow {
    /// This row's status for a warning window.
    pub fn status(&self, warn_within: Duration) -> Status {
        if self.error.is_some()
            || (self.missing && !self.optional)
            || (!self.missing && self.residual_time <= 0)
        {
            Status::Critical
        } else if !self.missing && (self.residual_time as u64) < warn_within.as_secs() {
            Status::Warning
        } else {
            Status::Ok
        }
    }
}

/// The report: kubeadm's `CertificateExpirationInfo` (`output.kubeadm.k8s.io/v1alpha3`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiryReport {
    /// `output.kubeadm.k8s.io/v1alpha3`.
    pub api_version: &'static str,
    /// `CertificateExpirationInfo`.
    pub kind: &'static str,
    /// Leaves and kubeconfig client certificates, sorted by name.
    pub certificates: Vec<ExpiryRow>,
    /// The CAs.
    pub certificate_authorities: Vec<ExpiryRow>,
}

impl ExpiryReport {
    /// The worst status of any row.
    pub fn status(&self, warn_within: Duration) -> Status {
        self.certificates
            .iter()
            .chain(&self.certificate_authorities)
            .map(|r| r.status(warn_within))
            .max()
            .unwrap_or(Status::Ok)
    }
}

/// The calendar date of `t` (whole seconds, UTC); `None` outside what X.509 can encode.
fn calendar(t: SystemTime) -> Option<der::DateTime> {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    der::DateTime::from_unix_duration(Duration::from_secs(secs)).ok()
}

/// RFC 3339 UTC with seconds (`2027-11-25T01:45:57Z`).
pub fn rfc3339(t: SystemTime) -> String {
    calendar(t).map_or_else(
        || "invalid".into(),
        |d| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minutes(),
                d.seconds()
            )
        },
    )
}

/// kubeadm's date layout `Jan 02, 2006 15:04 MST` (UTC).
pub fn kubeadm_date(t: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    calendar(t).map_or_else(
        || "invalid".into(),
        |d| {
            format!(
                "{} {:02}, {} {:02}:{:02} UTC",
                MONTHS[d.month() as usize - 1],
                d.day(),
                d.year(),
                d.hour(),
                d.minutes()
            )
        },
    )
}

fn residual(not_after: SystemTime, now: SystemTime) -> i64 {
    match not_after.duration_since(now) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

fn row(
    name: &str,
    path: String,
    found: Found<&crate::Certificate>,
    ca_name: &str,
    external: bool,
    now: SystemTime,
) -> ExpiryRow {
    let mut r = ExpiryRow {
        name: name.into(),
        path,
        expiration_date: None,
        not_after: None,
        residual_time: 0,
        ca_name: ca_name.into(),
        externally_managed: external,
        missing: false,
        error: None,
        optional: false,
    };
    match found {
        Found::Missing => r.missing = true,
        Found::Invalid(e) => r.error = Some(e),
        Found::Present(c) => {
            r.not_after = Some(c.not_after());
            r.expiration_date = Some(rfc3339(c.not_after()));
            r.residual_time = residual(c.not_after(), now);
        }
    }
    r
}

fn by_ref<T>(f: &Found<T>) -> Found<&T> {
    match f {
        Found::Missing => Found::Missing,
        Found::Invalid(e) => Found::Invalid(e.clone()),
        Found::Present(t) => Found::Present(t),
    }
}

/// The CAs whose certificate and every leaf are absent: not part of this cluster (external
/// etcd drops etcd's CA and certificates).
pub fn absent_groups(tree: &Tree, layout: &Layout) -> Vec<String> {
    layout
        .cas()
        .filter(|ca| {
            !tree.contains(Location::CertDir, &ca.cert_file())
                && !tree.contains(Location::CertDir, &ca.key_file())
                && layout
                    .leaves()
                    .filter(|l| l.ca.as_deref() == Some(ca.name.as_str()))
                    .all(|l| {
                        !tree.contains(Location::CertDir, &l.cert_file())
                            && !tree.contains(Location::CertDir, &l.key_file())
                    })
        })
        .map(|ca| ca.name.clone())
        .collect()
}

/// Builds the report from what is on disk.
pub fn check_expiration(
    tree: &Tree,
    dirs: &Dirs,
    layout: &Layout,
    now: SystemTime,
) -> ExpiryReport {
    let absent = absent_groups(tree, layout);
    let external = |ca: &str| {
        layout.cert(ca).is_some_and(|spec| {
            tree.contains(Location::CertDir, &spec.cert_file())
                && !tree.contains(Location::CertDir, &spec.key_file())
        })
    };

    let mut certificates = Vec::new();
    let mut authorities = Vec::new();
    for entry in &layout.certs {
        let group = entry.ca.clone().unwrap_or_else(|| entry.name.clone());
        if absent.contains(&group) {
            continue;
        }
        let found = inventory::cert(tree, dirs, &entry.cert_file());
        let path = dirs
            .path(Location::CertDir, &entry.cert_file())
            .display()
            .to_string();
        match &entry.ca {
            None => authorities.push(row(
                &entry.name,
                path,
                by_ref(&found),
                "",
                external(&entry.name),
                now,
            )),
            Some(ca) => certificates.push(row(
                &entry.name,
                path,
                by_ref(&found),
                ca,
                external(ca),
                now,
            )),
        }
    }
    for k in &layout.kubeconfigs {
        let found = inventory::kubeconfig(tree, dirs, k);
        let path = match &found {
            Found::Present(l) => l.client_cert_path.clone(),
            _ => None,
        }
        .unwrap_or_else(|| {
            dirs.path(Location::KubeconfigDir, &k.file)
                .display()
                .to_string()
        });
        let cert = match &found {
            Found::Missing => Found::Missing,
            Found::Invalid(e) => Found::Invalid(e.clone()),
            Found::Present(l) => Found::Present(&l.client_cert),
        };
        let mut r = row(&k.file, path, cert, &k.ca, external(&k.ca), now);
        r.optional = k.optional;
        // super-admin.conf is absent from every cluster made before kubeadm v1.29: not news.
        if !(r.optional && r.missing) {
            certificates.push(r);
        }
    }
    certificates.sort_by(|a, b| a.name.cmp(&b.name));
    authorities.sort_by(|a, b| a.name.cmp(&b.name));
    ExpiryReport {
        api_version: "output.kubeadm.k8s.io/v1alpha3",
        kind: "CertificateExpirationInfo",
        certificates,
        certificate_authorities: authorities,
    }
}
