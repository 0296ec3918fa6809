//! `kpki verify` catches each fault, one test per fault, and reports every problem at once.

mod common;
use common::*;

use std::os::unix::fs::PermissionsExt;

fn fresh() -> TreeDir {
    let t = TreeDir::new();
    t.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    t
}

/// Runs verify; returns (exit code, stdout).
fn verify(t: &TreeDir, now: u64, extra: &[&str]) -> (i32, String) {
    let out = kpki_at(now)
        .args(["verify", "--cert-dir"])
        .arg(t.pki())
        .arg("--kubeconfig-dir")
        .arg(t.root())
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_good_tree_verifies_and_the_kubeadm_tree_too() {
    let (code, out) = verify(&fresh(), NOW, &[]);
    assert_eq!(code, 0, "{out}");
    let k = kubeadm_fixture_copy();
    let (code, out) = verify(&k, NOW + 68, &[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn wrong_ca() {
    let (t, other) = (fresh(), fresh());
    for f in ["apiserver.crt", "apiserver.key"] {
        std::fs::copy(other.pki().join(f), t.pki().join(f)).unwrap();
    }
    let (code, out) = verify(&t, NOW, &[]);
    assert_eq!(code, 4);
    assert!(
        out.contains("pki/apiserver.crt: is not signed by ca.crt"),
        "{out}"
    );
}

#[test]
fn mismatched_key() {
    let (t, other) = (fresh(), fresh());
    std::fs::copy(
        other.pki().join("front-proxy-client.key"),
        t.pki().join("front-proxy-client.key"),
    )
    .unwrap();
    let (code, out) = verify(&t, NOW, &[]);
    assert_eq!(code, 4);
    assert!(
        out.contains("pki/front-proxy-client.key: does not match front-proxy-client.crt"),
        "{out}"
    );
}

#[test]
fn missing_san() {
    let t = fresh();
    let cfg = t.file("more-sans.yaml");
    let text = std::fs::read_to_string(fixture("configs/cluster-v1beta4.yaml"))
        .unwrap()
        .replace(
            "  - API.Example.Test\n",
            "  - API.Example.Test\n  - added.example.test\n",
        );
    std::fs::write(&cfg, text).unwrap();
    let (code, out) = verify(&t, NOW, &["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 4);
    assert!(
        out.contains("pki/apiserver.crt: does not cover DNS:added.example.test"),
        "{out}"
    );
    let (code, out) = verify(
        &t,
        NOW,
        &[
            "--config",
            fixture("configs/cluster-v1beta4.yaml").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn expired_certificate() {
    let t = fresh();
    let (code, out) = verify(&t, NOW + 366 * 86400, &[]);
    assert_eq!(code, 4);
    assert!(
        out.contains("pki/apiserver.crt: expired on 2027-11-25T01:45:52Z"),
        "{out}"
    );
    let (code, out) = verify(&t, NOW + 350 * 86400, &[]);
    assert_eq!(code, 3, "within the default 30-day window: {out}");
    assert!(out.contains("WARNING"), "{out}");
}

#[test]
fn key_readable_by_others() {
    let t = fresh();
    std::fs::set_permissions(
        t.pki().join("etcd/server.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (code, out) = verify(&t, NOW, &[]);
    assert_eq!(code, 4);
    assert!(
        out.contains("pki/etcd/server.key: mode 0644 lets others read a private key"),
        "{out}"
    );
}

#[test]
fn kubeconfig_with_stale_ca_data() {
    let (t, other) = (fresh(), fresh());
    // admin.conf from another cluster: its CA data is not this ca.crt.
    std::fs::copy(other.file("admin.conf"), t.file("admin.conf")).unwrap();
    let (code, out) = verify(&t, NOW, &[]);
    assert_eq!(code, 4);
    assert!(
        out.contains("admin.conf: certificate-authority-data is not ca.crt (stale CA data)"),
        "{out}"
    );
    assert!(
        out.contains("admin.conf: its client certificate is not signed by ca.crt"),
        "{out}"
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first_and_json_parses() {
    let (t, other) = (fresh(), fresh());
    std::fs::copy(other.pki().join("sa.pub"), t.pki().join("sa.pub")).unwrap();
    std::fs::set_permissions(
        t.pki().join("ca.key"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::fs::remove_file(t.pki().join("etcd/healthcheck-client.crt")).unwrap();
    let (code, out) = verify(&t, NOW, &["-o", "json"]);
    assert_eq!(code, 4);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["ok"], false);
    let problems: Vec<String> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {}: {}",
                p["severity"].as_str().unwrap(),
                p["file"].as_str().unwrap(),
                p["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems
        .iter()
        .any(|p| p.contains("sa.pub: is not the public half of sa.key")));
    assert!(problems.iter().any(|p| p.contains("ca.key: mode 0640")));
    assert!(problems
        .iter()
        .any(|p| p.starts_with("error ") && p.contains("etcd/healthcheck-client.crt: missing")));
}
