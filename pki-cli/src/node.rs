//! `kpki node add`: one more worker in a hand-built cluster.

use pki_core::hardway::{ClusterDescription, Node};
use pki_core::{store, Error};

use crate::args::{PkiArgs, Profile};
use crate::{Failure, Out};

/// The description with one more worker. The text is kept as written (comments and all) when
/// `workers:` is its last top-level key, and written anew otherwise.
fn with_worker(text: &str, desc: &ClusterDescription, node: &Node) -> Result<String, Failure> {
    let top_level: Vec<&str> = text
        .lines()
        .filter(|l| {
            !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with('-') && l.contains(':')
        })
        .collect();
    if top_level
        .last()
        .is_some_and(|l| l.starts_with("workers:") && l.trim_end() == "workers:")
    {
        let mut out = text.trim_end_matches('\n').to_string();
        out.push_str(&format!(
            "\n- name: {}\n  ips: [{}]\n",
            node.name,
            node.ips.join(", ")
        ));
        return Ok(out);
    }
    let mut d = desc.clone();
    d.workers.push(node.clone());
    Ok(d.to_yaml()?)
}

pub fn add(name: &str, ips: &[String], mut pki: PkiArgs, out: &mut Out) -> Result<u8, Failure> {
    pki.profile = Profile::HardWay;
    let path = pki
        .cluster
        .clone()
        .ok_or_else(|| "--cluster: node add needs the cluster description file".to_string())?;
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let desc =
        ClusterDescription::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let node = Node {
        name: name.into(),
        ips: ips.to_vec(),
    };
    if !desc.workers.iter().any(|w| w.name == name) {
        let updated = with_worker(&text, &desc, &node)?;
        // The new description must be valid (name, IPs, no clash) before anything changes.
        ClusterDescription::from_yaml(&updated).map_err(|e| format!("{name}: {e}"))?;
        store::write_file(&path, updated.as_bytes(), 0o644)?;
        store::sync_dir(
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new(".")),
        )?;
        out.line(format!(
            "[node] Added worker {name:?} to {}",
            path.display()
        ));
    } else if desc.workers.iter().any(|w| w.name == name && w.ips != ips) {
        return Err(format!(
            "{}: worker {name:?} is already there with IPs {:?}",
            path.display(),
            desc.workers
                .iter()
                .find(|w| w.name == name)
                .map(|w| w.ips.clone())
                .unwrap_or_default()
        )
        .into());
    }
    // Only this worker's certificate, key and kubeconfig.
    crate::init::run(
        &pki,
        crate::init::What::Only {
            certs: vec![name.into()],
            kubeconfigs: vec![format!("{name}.kubeconfig")],
        },
        out,
    )
}
