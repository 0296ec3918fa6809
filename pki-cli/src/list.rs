//! `kpki certs list`: the plan, without writing.

use pki_core::duration;
use pki_core::pki;

use crate::args::{OutputFormat, PkiArgs};
use crate::{Failure, Out};

pub fn run(args: &PkiArgs, out: &mut Out) -> Result<u8, Failure> {
    let crate::config::Resolved {
        layout, warnings, ..
    } = crate::config::layout(args, true)?;
    for w in &warnings {
        out.warn(w);
    }
    let rows = pki::plan(&layout);
    match args.output {
        OutputFormat::Json => {
            out.line(serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?)
        }
        OutputFormat::Yaml => out.stdout.push_str(&pki_core::yaml::to_string(&rows)?),
        OutputFormat::Table | OutputFormat::Text => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let mut sans = r.dns_names.clone();
                    sans.extend(r.ip_addresses.iter().cloned());
                    let mut subject: Vec<String> =
                        r.organizations.iter().map(|o| format!("O={o}")).collect();
                    subject.push(format!("CN={}", r.common_name));
                    vec![
                        r.name.clone(),
                        r.file.clone(),
                        if r.is_ca {
                            "(self-signed)".into()
                        } else {
                            r.ca.clone()
                        },
                        subject.join(","),
                        r.usages.join(",").replace(' ', "-"),
                        duration::format_go(std::time::Duration::from_secs(r.validity_seconds))
                            .trim_end_matches("0m0s")
                            .to_string(),
                        sans.join(","),
                    ]
                })
                .collect();
            out.stdout.push_str(&crate::table::render(
                &[
                    "NAME", "FILE", "CA", "SUBJECT", "USAGES", "VALIDITY", "SANS",
                ],
                &cells,
            ));
            if let Some(sa) = &layout.service_account {
                out.line(format!(
                    "\n{} / {}: {} service-account key pair (not a certificate)",
                    sa.key_file, sa.pub_file, sa.key_algorithm
                ));
            }
        }
    }
    Ok(0)
}
