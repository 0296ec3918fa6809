//! The smaller commands: `certs list` (the plan, without writing) and `completion`.

mod common;
use common::*;

#[test]
fn certs_list_shows_the_plan_without_writing() {
    let t = TreeDir::new();
    let cfg = fixture("configs/cluster-v1beta4.yaml")
        .display()
        .to_string();
    let json = ok(&mut t.kpki(&["certs", "list", "--config", &cfg, "-o", "json"]));
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 15, "10 certificates and 5 kubeconfigs");
    let apiserver = rows.iter().find(|r| r["name"] == "apiserver").unwrap();
    assert_eq!(apiserver["ca"], "ca");
    assert_eq!(apiserver["usages"], serde_json::json!(["server auth"]));
    assert_eq!(apiserver["dnsNames"][0], "*.apps.example.test");
    assert_eq!(
        apiserver["ipAddresses"],
        serde_json::json!(["10.96.0.1", "10.0.0.10", "127.0.0.1", "10.0.0.100"])
    );
    assert_eq!(apiserver["validitySeconds"], 8760 * 3600);
    let kubelet = rows.iter().find(|r| r["name"] == "kubelet.conf").unwrap();
    assert_eq!(kubelet["commonName"], "system:node:cp-node-1");
    assert_eq!(
        kubelet["organizations"],
        serde_json::json!(["system:nodes"])
    );
    let table = ok(&mut t.kpki(&["certs", "list", "--config", &cfg]));
    assert!(table.lines().next().unwrap().starts_with("NAME"), "{table}");
    assert!(table.contains("etcd/peer.crt"), "{table}");
    let yaml = ok(&mut t.kpki(&["certs", "list", "--config", &cfg, "-o", "yaml"]));
    assert!(yaml.contains("name: etcd-server"), "{yaml}");
    assert!(!t.pki().exists(), "certs list wrote files");
}

#[test]
fn completions_are_generated_for_the_usual_shells() {
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(kpki().args(["completion", shell]));
        assert!(
            script.contains("kubeconfig") && script.contains("cert-dir"),
            "{shell}"
        );
    }
    run_expect(kpki().args(["completion", "tcsh"]), 2);
}
