//! `kpki certs check-expiration`.

use pki_core::duration::short_human;
use pki_core::expiry::{self, ExpiryRow, Status};
use pki_core::store;

use crate::args::{OutputFormat, PkiArgs, WarnWindow};
use crate::{Failure, Out};

/// Exit codes of reports (shared/CLI.md).
pub fn exit_code(status: Status) -> u8 {
    match status {
        Status::Ok => 0,
        Status::Warning => 3,
        Status::Critical => 4,
    }
}

fn yes_no(b: bool) -> String {
    // kubeadm pads this last column to 8 characters.
    format!("{:<8}", if b { "yes" } else { "no" })
}

fn cells(r: &ExpiryRow, with_ca: bool) -> Vec<String> {
    let name = if r.missing {
        format!("!MISSING! {}", r.name)
    } else if r.error.is_some() {
        format!("!INVALID! {}", r.name)
    } else {
        r.name.clone()
    };
    let mut row = vec![
        name,
        r.not_after.map(expiry::kubeadm_date).unwrap_or_default(),
        if r.missing || r.error.is_some() {
            String::new()
        } else {
            short_human(r.residual_time)
        },
    ];
    if with_ca {
        row.push(r.ca_name.clone());
    }
    row.push(if r.missing || r.error.is_some() {
        String::new()
    } else {
        yes_no(r.externally_managed)
    });
    row
}

pub fn run(args: &PkiArgs, window: &WarnWindow, out: &mut Out) -> Result<u8, Failure> {
    let warn = crate::config::duration(&window.warn_within, "--warn-within")?;
    let crate::config::Resolved { layout, dirs, .. } = crate::config::layout(args, false)?;
    let now = crate::now::now()?;
    let tree = store::load(&dirs, &layout)?;
    let report = expiry::check_expiration(&tree, &dirs, &layout, now);
    match args.output {
        OutputFormat::Json => {
            out.line(serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?)
        }
        OutputFormat::Yaml => out.stdout.push_str(&pki_core::yaml::to_string(&report)?),
        OutputFormat::Table | OutputFormat::Text => {
            let rows: Vec<Vec<String>> =
                report.certificates.iter().map(|r| cells(r, true)).collect();
            out.stdout.push_str(&crate::table::render(
                &[
                    "CERTIFICATE",
                    "EXPIRES",
                    "RESIDUAL TIME",
                    "CERTIFICATE AUTHORITY",
                    "EXTERNALLY MANAGED",
                ],
                &rows,
            ));
            out.line("");
            let rows: Vec<Vec<String>> = report
                .certificate_authorities
                .iter()
                .map(|r| cells(r, false))
                .collect();
            out.stdout.push_str(&crate::table::render(
                &[
                    "CERTIFICATE AUTHORITY",
                    "EXPIRES",
                    "RESIDUAL TIME",
                    "EXTERNALLY MANAGED",
                ],
                &rows,
            ));
        }
    }
    for r in report
        .certificates
        .iter()
        .chain(&report.certificate_authorities)
    {
        if let Some(e) = &r.error {
            out.warn(e);
        }
    }
    Ok(exit_code(report.status(warn)))
}
