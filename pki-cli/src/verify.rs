//! `kpki verify`.

use pki_core::store;
use pki_core::verify::{self, Severity, VerifyOptions};

use crate::args::{OutputFormat, PkiArgs, WarnWindow};
use crate::{Failure, Out};

pub fn run(args: &PkiArgs, window: &WarnWindow, out: &mut Out) -> Result<u8, Failure> {
    let warn_within = crate::config::duration(&window.warn_within, "--warn-within")?;
    // kubeadm SANs are checked against a configuration only when one is given (the hard way's
    // description always says what they must be); `layout` resolves it then.
    let crate::config::Resolved {
        layout,
        dirs,
        config,
        ..
    } = crate::config::layout(args, false)?;
    let now = crate::now::now()?;
    let tree = store::load(&dirs, &layout)?;
    let options = VerifyOptions {
        now,
        warn_within,
        config: config.as_ref(),
    };
    let problems = verify::verify(&tree, &dirs, &layout, &options);
    let code = problems.iter().map(|p| match p.severity {
        Severity::Error => 4,
        Severity::Warning => 3,
    });
    let code = code.max().unwrap_or(0);
    match args.output {
        OutputFormat::Json => out.line(
            serde_json::to_string_pretty(
                &serde_json::json!({ "ok": problems.is_empty(), "problems": problems }),
            )
            .map_err(|e| e.to_string())?,
        ),
        OutputFormat::Yaml => out.stdout.push_str(&pki_core::yaml::to_string(
            &serde_json::json!({ "ok": problems.is_empty(), "problems": problems }),
        )?),
        OutputFormat::Table | OutputFormat::Text => {
            for p in &problems {
                let label = if p.severity == Severity::Error {
                    "ERROR"
                } else {
                    "WARNING"
                };
                out.line(format!("{label} {}: {}", p.file, p.message));
            }
            let errors = problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .count();
            out.line(format!(
                "{} problems ({errors} errors, {} warnings) in {} and {}",
                problems.len(),
                problems.len() - errors,
                dirs.cert_dir.display(),
                dirs.kubeconfig_dir.display()
            ));
        }
    }
    Ok(code)
}
