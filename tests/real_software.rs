//! Real software accepts what kpki makes: `openssl verify` with the right purpose and names,
//! a real etcd doing mutual TLS with the etcd certificates, and kubectl reading every
//! kubeconfig and completing a mutual-TLS handshake as the admin user.

mod common;
use common::*;

use std::process::{Command, Stdio};

fn openssl_verify(ca: &std::path::Path, cert: &std::path::Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(tool("openssl"))
        .arg("verify")
        .arg("-CAfile")
        .arg(ca)
        .args(extra)
        .arg(cert)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && text.contains(": OK"), text)
}

#[test]
fn openssl_verifies_every_leaf_for_its_purpose_and_names() {
    for alg in ["RSA-2048", "ECDSA-P256", "ED25519"] {
        let t = TreeDir::new();
        t.init_live("configs/cluster-v1beta4.yaml", &["--key-algorithm", alg]);
        let p = |rel: &str| t.pki().join(rel);
        let server = ["-purpose", "sslserver"];
        let client = ["-purpose", "sslclient"];
        let mut cases: Vec<(&str, &str, Vec<&str>)> = vec![
            ("ca.crt", "apiserver-kubelet-client.crt", client.to_vec()),
            (
                "front-proxy-ca.crt",
                "front-proxy-client.crt",
                client.to_vec(),
            ),
            (
                "etcd/ca.crt",
                "etcd/healthcheck-client.crt",
                client.to_vec(),
            ),
            ("etcd/ca.crt", "apiserver-etcd-client.crt", client.to_vec()),
            ("etcd/ca.crt", "etcd/server.crt", client.to_vec()),
            ("etcd/ca.crt", "etcd/peer.crt", client.to_vec()),
        ];
        for name in [
            "api.example.test",
            "x.apps.example.test",
            "cp-node-1",
            "kubernetes.default.svc.cluster.local",
        ] {
            cases.push((
                "ca.crt",
                "apiserver.crt",
                [&server[..], &["-verify_hostname", name]].concat(),
            ));
        }
        for ip in ["10.96.0.1", "10.0.0.10", "127.0.0.1", "10.0.0.100"] {
            cases.push((
                "ca.crt",
                "apiserver.crt",
                [&server[..], &["-verify_ip", ip]].concat(),
            ));
        }
        for ip in ["10.0.0.20", "127.0.0.1", "::1"] {
            cases.push((
                "etcd/ca.crt",
                "etcd/server.crt",
                [&server[..], &["-verify_ip", ip]].concat(),
            ));
        }
        cases.push((
            "etcd/ca.crt",
            "etcd/server.crt",
            [&server[..], &["-verify_hostname", "etcd.example.test"]].concat(),
        ));
        cases.push((
            "etcd/ca.crt",
            "etcd/peer.crt",
            [&server[..], &["-verify_ip", "10.0.0.21"]].concat(),
        ));
        for (ca, cert, args) in &cases {
            let (good, text) = openssl_verify(&p(ca), &p(cert), args);
            assert!(good, "{alg}: {cert} {args:?} against {ca}: {text}");
        }
        // And openssl refuses what must be refused.
        let refused: Vec<(&str, &str, Vec<&str>)> = vec![
            ("etcd/ca.crt", "apiserver.crt", server.to_vec()),
            ("ca.crt", "apiserver-kubelet-client.crt", server.to_vec()),
            (
                "ca.crt",
                "apiserver.crt",
                [&server[..], &["-verify_hostname", "evil.example.test"]].concat(),
            ),
            (
                "etcd/ca.crt",
                "etcd/peer.crt",
                [&server[..], &["-verify_ip", "10.0.0.20"]].concat(),
            ),
            (
                "front-proxy-ca.crt",
                "etcd/healthcheck-client.crt",
                client.to_vec(),
            ),
        ];
        for (ca, cert, args) in &refused {
            let (good, text) = openssl_verify(&p(ca), &p(cert), args);
            assert!(
                !good,
                "{alg}: {cert} {args:?} against {ca} should fail: {text}"
            );
        }
    }
}

struct Etcd {
    _child: Child,
    client_port: u16,
    _data: tempfile::TempDir,
}

fn start_etcd(t: &TreeDir) -> Etcd {
    let data = tempfile::tempdir().unwrap();
    let (client_port, peer_port) = (free_port(), free_port());
    let pki = t.pki();
    let f = |rel: &str| pki.join(rel).display().to_string();
    let child = Command::new(tool("etcd"))
        .args(["--name", "node-a", "--data-dir"])
        .arg(data.path())
        .args([
            "--listen-client-urls",
            &format!("https://127.0.0.1:{client_port}"),
        ])
        .args([
            "--advertise-client-urls",
            &format!("https://127.0.0.1:{client_port}"),
        ])
        .args([
            "--listen-peer-urls",
            &format!("https://127.0.0.1:{peer_port}"),
        ])
        .args([
            "--initial-advertise-peer-urls",
            &format!("https://127.0.0.1:{peer_port}"),
        ])
        .args([
            "--initial-cluster",
            &format!("node-a=https://127.0.0.1:{peer_port}"),
        ])
        .args([
            "--cert-file",
            &f("etcd/server.crt"),
            "--key-file",
            &f("etcd/server.key"),
        ])
        .args(["--trusted-ca-file", &f("etcd/ca.crt"), "--client-cert-auth"])
        .args([
            "--peer-cert-file",
            &f("etcd/peer.crt"),
            "--peer-key-file",
            &f("etcd/peer.key"),
        ])
        .args([
            "--peer-trusted-ca-file",
            &f("etcd/ca.crt"),
            "--peer-client-cert-auth",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("etcd (Debian etcd-server) is required; .ci/run installs it");
    let child = Child(child);
    wait_for_port(client_port);
    Etcd {
        _child: child,
        client_port,
        _data: data,
    }
}

fn etcdctl(t: &TreeDir, etcd: &Etcd, ca: &str, cert: &str, args: &[&str]) -> std::process::Output {
    let pki = t.pki();
    Command::new(tool("etcdctl"))
        .env("ETCDCTL_API", "3")
        .args([
            "--endpoints",
            &format!("https://127.0.0.1:{}", etcd.client_port),
        ])
        .arg("--cacert")
        .arg(pki.join(ca))
        .arg("--cert")
        .arg(pki.join(format!("{cert}.crt")))
        .arg("--key")
        .arg(pki.join(format!("{cert}.key")))
        .args(["--dial-timeout", "5s", "--command-timeout", "10s"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_real_etcd_does_mutual_tls_with_kpki_certificates() {
    for alg in ["RSA-2048", "ECDSA-P256"] {
        let t = TreeDir::new();
        t.init_live("configs/local-etcd-127.yaml", &["--key-algorithm", alg]);
        let etcd = start_etcd(&t);
        let health = etcdctl(
            &t,
            &etcd,
            "etcd/ca.crt",
            "etcd/healthcheck-client",
            &["endpoint", "health"],
        );
        assert!(
            health.status.success(),
            "{alg}: healthcheck-client refused: {}",
            stderr_of(&health)
        );
        let put = etcdctl(
            &t,
            &etcd,
            "etcd/ca.crt",
            "apiserver-etcd-client",
            &["put", "/registry/k", "v"],
        );
        assert!(
            put.status.success(),
            "{alg}: apiserver-etcd-client refused: {}",
            stderr_of(&put)
        );
        let get = etcdctl(
            &t,
            &etcd,
            "etcd/ca.crt",
            "apiserver-etcd-client",
            &["get", "/registry/k", "--print-value-only"],
        );
        assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "v", "{alg}");
        // A client certificate from the cluster CA (not etcd's) is refused.
        let wrong = etcdctl(
            &t,
            &etcd,
            "etcd/ca.crt",
            "apiserver-kubelet-client",
            &["get", "/registry/k"],
        );
        assert!(
            !wrong.status.success(),
            "{alg}: etcd accepted a certificate of the cluster CA"
        );
        // A client trusting only the cluster CA does not accept etcd's serving certificate.
        let untrusting = etcdctl(
            &t,
            &etcd,
            "ca.crt",
            "etcd/healthcheck-client",
            &["endpoint", "health"],
        );
        assert!(
            !untrusting.status.success(),
            "{alg}: etcd's server cert verified against the cluster CA"
        );
    }
}

#[test]
fn a_renewed_tree_still_does_mutual_tls_with_etcd_and_passes_openssl() {
    let t = TreeDir::new();
    t.init_live(
        "configs/local-etcd-127.yaml",
        &["--key-algorithm", "RSA-2048"],
    );
    ok(kpki()
        .env_remove("KPKI_NOW")
        .args(["certs", "renew", "all", "--no-backup", "--cert-dir"])
        .arg(t.pki())
        .arg("--kubeconfig-dir")
        .arg(t.root()));
    let etcd = start_etcd(&t);
    let health = etcdctl(
        &t,
        &etcd,
        "etcd/ca.crt",
        "etcd/healthcheck-client",
        &["endpoint", "health"],
    );
    assert!(
        health.status.success(),
        "renewed healthcheck-client refused: {}",
        stderr_of(&health)
    );
    let put = etcdctl(
        &t,
        &etcd,
        "etcd/ca.crt",
        "apiserver-etcd-client",
        &["put", "k", "v"],
    );
    assert!(
        put.status.success(),
        "renewed apiserver-etcd-client refused: {}",
        stderr_of(&put)
    );
    let wrong = etcdctl(
        &t,
        &etcd,
        "etcd/ca.crt",
        "apiserver-kubelet-client",
        &["get", "k"],
    );
    assert!(!wrong.status.success());
    let (good, text) = openssl_verify(
        &t.pki().join("ca.crt"),
        &t.pki().join("apiserver.crt"),
        &["-purpose", "sslserver", "-verify_ip", "127.0.0.1"],
    );
    assert!(good, "{text}");
}

#[test]
fn kubectl_reads_every_kubeconfig_and_authenticates_as_admin() {
    let t = TreeDir::new();
    t.init(
        "configs/local-etcd-127.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    let kubectl = kubectl();
    for (file, user) in [
        ("admin.conf", "kubernetes-admin"),
        ("super-admin.conf", "kubernetes-super-admin"),
        ("kubelet.conf", "system:node:node-a"),
        ("controller-manager.conf", "system:kube-controller-manager"),
        ("scheduler.conf", "system:kube-scheduler"),
    ] {
        let out = Command::new(&kubectl)
            .args([
                "config",
                "view",
                "--raw",
                "-o",
                "jsonpath={.users[0].name} {.clusters[0].cluster.server} {.current-context}",
                "--kubeconfig",
            ])
            .arg(t.file(file))
            .output()
            .unwrap();
        assert!(out.status.success(), "{file}: {}", stderr_of(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{user} https://127.0.0.1:6443 {user}@local"),
            "{file}"
        );
    }

    // A TLS server holding kpki's apiserver certificate that requires a client certificate
    // signed by ca.crt; kubectl with admin.conf must complete the handshake.
    let pki = t.pki();
    let page = kubectl_mtls(
        &pki.join("ca.crt"),
        &pki.join("apiserver.crt"),
        &pki.join("apiserver.key"),
        &t.file("admin.conf"),
    );
    // openssl's status page shows the client certificate it verified.
    assert!(page.contains("CN=kubernetes-admin"), "{page}");
}
