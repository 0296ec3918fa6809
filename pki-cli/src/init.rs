//! `kpki init`, `kpki certs init` and `kpki kubeconfig init`.

use pki_core::pki::{self, Event, Selection};
use pki_core::store;
use pki_core::tree::Dirs;

use crate::args::PkiArgs;
use crate::{Failure, Out};

/// What to make.
pub enum What {
    All,
    Certs(Vec<String>),
    Kubeconfigs(Vec<String>),
    /// Exactly these certificates and kubeconfigs (`node add`).
    Only {
        certs: Vec<String>,
        kubeconfigs: Vec<String>,
    },
}

pub fn run(args: &PkiArgs, what: What, out: &mut Out) -> Result<u8, Failure> {
    let crate::config::Resolved {
        layout,
        dirs,
        warnings,
        ..
    } = crate::config::layout(args, true)?;
    let now = crate::now::now()?;
    let selection = match &what {
        What::All => Selection::all(&layout),
        What::Certs(names) if names.is_empty() => Selection::certs(&layout),
        What::Certs(names) => Selection::certs_named(&layout, names)?,
        What::Kubeconfigs(names) if names.is_empty() => Selection::kubeconfigs(&layout),
        What::Kubeconfigs(names) => Selection::kubeconfigs_named(&layout, names)?,
        What::Only { certs, kubeconfigs } => Selection {
            certs: Selection::certs_named(&layout, certs)?.certs,
            service_account: false,
            kubeconfigs: Selection::kubeconfigs_named(&layout, kubeconfigs)?.kubeconfigs,
        },
    };
    // Another kpki run (a renewal) must not change the tree between our checks and our writes.
    let _lock = if dirs.cert_dir.is_dir() {
        Some(store::lock(
            &dirs.cert_dir,
            std::time::Duration::from_secs(60),
        )?)
    } else {
        None
    };
    let existing = store::load(&dirs, &layout)?;
    let bar = crate::progress::Bar::new();
    let outcome = pki::build_with_progress(&layout, &dirs, &existing, &selection, now, &|p| {
        bar.update(p)
    });
    bar.finish();
    let outcome = outcome?;
    store::commit(&dirs, &outcome.files)?;
    if !outcome.completed.is_empty() {
        store::replace(&dirs, &outcome.completed, None)?;
    }

    for w in warnings.iter().chain(&outcome.warnings) {
        out.warn(w);
    }
    if !selection.certs.is_empty() || selection.service_account {
        out.line(format!(
            "[certs] Using certificateDir folder {:?}",
            dirs.cert_dir.display().to_string()
        ));
    }
    let mut kubeconfig_header = false;
    for event in &outcome.events {
        if matches!(
            event,
            Event::WroteKubeconfig { .. }
                | Event::UsingExistingKubeconfig { .. }
                | Event::CompletedKubeconfig { .. }
        ) && !kubeconfig_header
        {
            out.line(format!(
                "[kubeconfig] Using kubeconfig folder {:?}",
                dirs.kubeconfig_dir.display().to_string()
            ));
            kubeconfig_header = true;
        }
        out.line(event_line(event, &dirs));
    }
    Ok(0)
}

fn event_line(event: &Event, dirs: &Dirs) -> String {
    match event {
        Event::GeneratedCert { name, sans: None } => {
            format!("[certs] Generating {name:?} certificate and key")
        }
        Event::GeneratedCert {
            name,
            sans: Some(sans),
        } => {
            let ips: Vec<String> = sans.ips.iter().map(|i| i.to_string()).collect();
            format!(
                "[certs] Generating {name:?} certificate and key\n[certs] {name} serving cert is signed for DNS names [{}] and IPs [{}]",
                sans.dns.join(" "),
                ips.join(" ")
            )
        }
        Event::ReissuedCertForExistingKey { name } => {
            format!("[certs] Generating {name:?} certificate for the existing key")
        }
        Event::UsingExistingCert { name } => {
            format!("[certs] Using the existing {name:?} certificate and key")
        }
        Event::UsingExistingCa { name } => {
            format!("[certs] Using the existing {name:?} certificate authority")
        }
        Event::ExternalCa { name } => {
            format!("[certs] Using the existing {name:?} certificate authority (external: its key is absent)")
        }
        Event::GeneratedServiceAccount => "[certs] Generating \"sa\" key and public key".into(),
        Event::UsingExistingServiceAccount => "[certs] Using the existing \"sa\" key".into(),
        Event::RestoredServiceAccountPublicKey => {
            "[certs] Writing \"sa.pub\" from the existing \"sa\" key".into()
        }
        Event::WroteKubeconfig { file } => format!("[kubeconfig] Writing {file:?} kubeconfig file"),
        Event::CompletedKubeconfig { file } => {
            format!("[kubeconfig] Completing {file:?} with its externally signed certificate")
        }
        Event::UsingExistingKubeconfig { file } => {
            let path = dirs.kubeconfig_dir.join(file);
            format!(
                "[kubeconfig] Using existing kubeconfig file: {:?}",
                path.display().to_string()
            )
        }
    }
}
