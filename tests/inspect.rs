//! `kpki inspect`: certificates, chains, CSRs, keys (never the secret) and kubeconfigs.

mod common;
use common::*;

use std::process::Command;

#[test]
fn inspect_shows_what_each_kind_of_file_holds() {
    let t = TreeDir::new();
    t.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    let text = ok(kpki().arg("inspect").arg(t.pki().join("apiserver.crt")));
    for expected in [
        "Subject:            CN=kube-apiserver",
        "Issuer:             CN=kubernetes",
        "ECDSA-P256",
        "server auth",
        "DNS:*.apps.example.test",
        "IP:10.96.0.1",
        "SHA-256:",
        "(1y left)",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    // The fingerprint is openssl's.
    let fp = Command::new(tool("openssl"))
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(t.pki().join("apiserver.crt"))
        .output()
        .unwrap();
    let fp = String::from_utf8_lossy(&fp.stdout)
        .trim()
        .split('=')
        .nth(1)
        .unwrap()
        .to_string();
    assert!(text.contains(&fp), "{fp}\n{text}");

    let key = ok(kpki().arg("inspect").arg(t.pki().join("apiserver.key")));
    assert!(key.contains("Private key: ECDSA-P256"), "{key}");
    assert!(!key.contains("BEGIN"), "never print the key");

    let kc = ok(kpki().arg("inspect").arg(t.file("kubelet.conf")));
    assert!(
        kc.contains("User system:node:cp-node-1 (key: ECDSA-P256)"),
        "{kc}"
    );
    assert!(kc.contains("O=system:nodes"), "{kc}");
    assert!(
        kc.contains("Cluster kubernetes at https://10.0.0.10:6443"),
        "{kc}"
    );

    // A chain and an openssl-made CSR.
    let chain = t.file("chain.pem");
    let mut both = std::fs::read(t.pki().join("front-proxy-client.crt")).unwrap();
    both.extend(std::fs::read(t.pki().join("front-proxy-ca.crt")).unwrap());
    std::fs::write(&chain, both).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&ok(kpki().args(["inspect", "-o", "json"]).arg(&chain))).unwrap();
    let items = json[0]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["subject"], "CN=front-proxy-client");
    assert_eq!(items[1]["isCa"], true);
    assert_eq!(items[0]["residualSeconds"], 8760 * 3600);

    let csr = t.file("jane.csr");
    let made = Command::new(tool("openssl"))
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
        ])
        .arg(t.file("jane.key"))
        .args([
            "-subj",
            "/CN=jane/O=devs/O=qa",
            "-addext",
            "subjectAltName=DNS:jane.example.test,IP:10.1.2.3",
            "-out",
        ])
        .arg(&csr)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(kpki().args(["inspect", "-o", "json"]).arg(&csr))).unwrap();
    let item = &json[0]["items"][0];
    assert_eq!(item["type"], "certificateRequest");
    assert_eq!(item["signatureValid"], true);
    assert_eq!(item["dnsNames"], serde_json::json!(["jane.example.test"]));
    assert_eq!(item["ipAddresses"], serde_json::json!(["10.1.2.3"]));
    assert!(item["subject"].as_str().unwrap().contains("CN=jane"));
}

#[test]
fn inspect_names_a_file_it_cannot_read() {
    let out = run_expect(
        kpki().arg("inspect").arg(fixture("malformed/garbage.crt")),
        1,
    );
    let err = stderr_of(&out);
    assert!(
        err.contains("garbage.crt") && err.lines().count() == 1,
        "{err}"
    );
    let out = run_expect(kpki().args(["inspect", "/nonexistent.pem"]), 1);
    assert!(stderr_of(&out).contains("/nonexistent.pem"));
}
