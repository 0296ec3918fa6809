//! `kpki certs renew`.

use std::path::PathBuf;

use pki_core::renew::{self, RenewEvent, RenewOptions};
use pki_core::store;

use crate::args::PkiArgs;
use crate::{Failure, Out};

pub struct Flags {
    pub names: Vec<String>,
    pub reuse_key: bool,
    pub if_expiring_within: Option<String>,
    pub backup_dir: Option<PathBuf>,
    pub no_backup: bool,
    pub lock_timeout: String,
}

pub fn run(args: &PkiArgs, flags: &Flags, out: &mut Out) -> Result<u8, Failure> {
    let crate::config::Resolved {
        layout,
        dirs,
        input,
        ..
    } = crate::config::layout(args, false)?;
    let now = crate::now::now()?;
    let targets = renew::targets(&layout, &flags.names)?;
    let key_algorithm = input
        .key_algorithm
        .as_deref()
        .map(|a| {
            a.parse().map_err(|e: pki_core::Error| {
                Failure::from(format!(
                    "--key-algorithm: {}",
                    e.to_string().replace("key algorithm: ", "")
                ))
            })
        })
        .transpose()?;
    let validity = match &input.cert_validity {
        Some(v) => crate::config::duration(v, "--cert-validity")?,
        None => std::time::Duration::from_secs(8760 * 3600),
    };
    let if_expiring_within = flags
        .if_expiring_within
        .as_deref()
        .map(|d| crate::config::duration(d, "--if-expiring-within"))
        .transpose()?;
    let lock_wait = crate::config::duration(&flags.lock_timeout, "--lock-timeout")?;
    if !dirs.cert_dir.is_dir() {
        return Err(format!(
            "{}: is not a directory (--cert-dir)",
            dirs.cert_dir.display()
        )
        .into());
    }

    let _lock = store::lock(&dirs.cert_dir, lock_wait)?;
    let tree = store::load(&dirs, &layout)?;
    let opts = RenewOptions {
        now,
        validity,
        key_algorithm,
        reuse_key: flags.reuse_key,
        if_expiring_within,
    };
    let plan = renew::renew(&tree, &dirs, &layout, &targets, &opts)?;

    let backup = if plan.is_empty() || flags.no_backup {
        None
    } else {
        Some(flags.backup_dir.clone().unwrap_or_else(|| {
            let parent = dirs.cert_dir.parent().unwrap_or(std::path::Path::new("."));
            let stamp = pki_core::expiry::rfc3339(now).replace([':', '-'], "");
            parent.join(format!("kpki-backup-{stamp}"))
        }))
    };
    if !plan.is_empty() {
        store::replace(&dirs, &plan.files, backup.as_deref())?;
    }

    for e in &plan.events {
        match e {
            RenewEvent::Renewed { description, .. } => out.line(format!("{description} renewed")),
            RenewEvent::NotDue {
                name,
                residual_seconds,
            } => out.line(format!(
                "{name} is not due: it expires in {} (--if-expiring-within)",
                pki_core::duration::short_human(*residual_seconds)
            )),
            RenewEvent::ExternalCa { name, ca } => {
                out.line(format!("Detected external {ca}, {name} can't be renewed"))
            }
            RenewEvent::Missing { name } => out.line(format!("MISSING! {name}")),
        }
    }
    if let Some(b) = &backup {
        out.line(format!("The replaced files are kept in {}", b.display()));
    }
    let restart = &plan.restart;
    if !restart.is_empty() {
        out.line(format!(
            "\nDone renewing certificates. You must restart {}, so that they can use the new certificates.",
            restart.join(", ")
        ));
    } else if plan.is_empty() {
        out.line("Nothing was renewed.");
    }
    Ok(0)
}
