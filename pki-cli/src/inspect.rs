//! `kpki inspect FILE...`.

use std::path::PathBuf;

use pki_core::duration::short_human;
use pki_core::inspect::{self, CertInfo, Inspected};
use pki_core::Error;

use crate::args::OutputFormat;
use crate::{Failure, Out};

fn cert_text(c: &CertInfo, indent: &str, out: &mut Out) {
    let mut l = |k: &str, v: String| out.line(format!("{indent}{k:<20}{v}"));
    l("Subject:", c.subject.clone());
    l("Issuer:", c.issuer.clone());
    l("Serial:", c.serial.clone());
    l("Not before:", c.not_before.clone());
    l(
        "Not after:",
        format!("{} ({} left)", c.not_after, short_human(c.residual_seconds)),
    );
    l("Public key:", c.public_key.clone());
    l("Key usage:", c.key_usage.join(", "));
    l("Extended key usage:", c.extended_key_usage.join(", "));
    let mut sans: Vec<String> = c.dns_names.iter().map(|d| format!("DNS:{d}")).collect();
    sans.extend(c.ip_addresses.iter().map(|i| format!("IP:{i}")));
    sans.extend(c.other_names.iter().cloned());
    l("SANs:", sans.join(", "));
    l(
        "CA:",
        match (c.is_ca, c.path_len) {
            (true, Some(p)) => format!("yes (path length {p})"),
            (true, None) => "yes".into(),
            (false, _) => "no".into(),
        },
    );
    l(
        "Subject key id:",
        c.subject_key_id.clone().unwrap_or_else(|| "-".into()),
    );
    l(
        "Authority key id:",
        c.authority_key_id.clone().unwrap_or_else(|| "-".into()),
    );
    l("SHA-256:", c.sha256_fingerprint.clone());
}

pub fn run(files: &[PathBuf], output: OutputFormat, out: &mut Out) -> Result<u8, Failure> {
    let now = crate::now::now()?;
    let mut all = Vec::new();
    for path in files {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let items = inspect::inspect(&bytes, now).map_err(|e| e.in_file(path))?;
        all.push((path.display().to_string(), items));
    }
    match output {
        OutputFormat::Json | OutputFormat::Yaml => {
            let value = serde_json::json!(all
                .iter()
                .map(|(f, items)| serde_json::json!({ "file": f, "items": items }))
                .collect::<Vec<_>>());
            if output == OutputFormat::Json {
                out.line(serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?);
            } else {
                out.stdout.push_str(&pki_core::yaml::to_string(&value)?);
            }
        }
        OutputFormat::Table | OutputFormat::Text => {
            for (file, items) in &all {
                out.line(format!("{file}:"));
                for item in items {
                    match item {
                        Inspected::Certificate(c) => {
                            out.line("  Certificate");
                            cert_text(c, "    ", out);
                        }
                        Inspected::CertificateRequest(r) => {
                            out.line("  Certificate request");
                            out.line(format!("    Subject:            {}", r.subject));
                            out.line(format!("    Public key:         {}", r.public_key));
                            let mut sans: Vec<String> =
                                r.dns_names.iter().map(|d| format!("DNS:{d}")).collect();
                            sans.extend(r.ip_addresses.iter().map(|i| format!("IP:{i}")));
                            sans.extend(r.other_names.iter().cloned());
                            out.line(format!("    SANs:               {}", sans.join(", ")));
                            out.line(format!(
                                "    Signature:          {}",
                                if r.signature_valid {
                                    "valid"
                                } else {
                                    "INVALID"
                                }
                            ));
                            if let Some(s) = &r.signer_name {
                                out.line(format!("    Signer:             {s}"));
                            }
                            if let Some(u) = &r.usages {
                                out.line(format!("    Usages:             {}", u.join(", ")));
                            }
                            if let Some(e) = r.expiration_seconds {
                                out.line(format!("    Expiration seconds: {e}"));
                            }
                        }
                        Inspected::PrivateKey { algorithm } => {
                            out.line(format!("  Private key: {algorithm}"))
                        }
                        Inspected::PublicKey { algorithm } => {
                            out.line(format!("  Public key: {algorithm}"))
                        }
                        Inspected::Kubeconfig(k) => {
                            out.line(format!(
                                "  Kubeconfig, current context {}",
                                k.current_context.clone().unwrap_or_default()
                            ));
                            for c in &k.clusters {
                                out.line(format!(
                                    "  Cluster {} at {}",
                                    c.name,
                                    c.server.clone().unwrap_or_default()
                                ));
                                if let Some(ca) = &c.certificate_authority {
                                    cert_text(ca, "    ", out);
                                }
                            }
                            for u in &k.users {
                                out.line(format!(
                                    "  User {} (key: {})",
                                    u.name,
                                    u.key.clone().unwrap_or_else(|| "none".into())
                                ));
                                if let Some(cert) = &u.certificate {
                                    cert_text(cert, "    ", out);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(0)
}
