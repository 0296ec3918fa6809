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

/// Every report's `-o yaml` is the same object as its `-o json`, read by Python's PyYAML.
#[test]
fn every_yaml_output_parses_to_the_same_object_as_its_json() {
    let t = TreeDir::new();
    t.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    let cfg = fixture("configs/cluster-v1beta4.yaml")
        .display()
        .to_string();
    let dirs = |c: &mut std::process::Command| {
        c.arg("--cert-dir")
            .arg(t.pki())
            .arg("--kubeconfig-dir")
            .arg(t.root());
    };
    let commands: Vec<Vec<String>> = vec![
        vec![
            "certs".into(),
            "list".into(),
            "--config".into(),
            cfg.clone(),
        ],
        vec!["certs".into(), "check-expiration".into()],
        vec!["verify".into()],
    ];
    for (i, args) in commands.iter().enumerate() {
        let run = |fmt: &str| {
            let mut c = kpki();
            c.args(args);
            dirs(&mut c);
            c.args(["-o", fmt]);
            ok(&mut c)
        };
        let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
        let yaml_file = t.file(&format!("out-{i}.yaml"));
        std::fs::write(&yaml_file, run("yaml")).unwrap();
        let script = format!(
            "import json,yaml;print(json.dumps(yaml.safe_load(open({:?}))))",
            yaml_file.display().to_string()
        );
        let out = std::process::Command::new("python3")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        let from_yaml: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(from_yaml, json, "{args:?}");
    }
    let inspect = |fmt: &str| {
        ok(kpki()
            .args(["inspect", "-o", fmt])
            .arg(t.file("admin.conf"))
            .arg(t.pki().join("sa.pub")))
    };
    let json: serde_json::Value = serde_json::from_str(&inspect("json")).unwrap();
    let yaml_file = t.file("inspect.yaml");
    std::fs::write(&yaml_file, inspect("yaml")).unwrap();
    let script = format!(
        "import json,yaml;print(json.dumps(yaml.safe_load(open({:?}))))",
        yaml_file.display().to_string()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        json
    );
    assert_eq!(json[1]["items"][0]["type"], "publicKey");
}
