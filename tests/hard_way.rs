//! The hand-built ("hard way") profile: the tree passes openssl, a real etcd and kubectl;
//! many workers in one command; adding a worker touches nothing else; the lifecycle commands
//! understand the profile.

mod common;
use common::*;

use std::process::{Command, Stdio};

fn cluster_file(t: &TreeDir, workers: usize, alg: &str) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(fixture("hard-way/cluster.yaml"))
        .unwrap()
        .replace("keyAlgorithm: RSA-2048", &format!("keyAlgorithm: {alg}"));
    let cut = text.find("workers:").unwrap();
    text.truncate(cut);
    text.push_str("workers:\n");
    for i in 0..workers {
        text.push_str(&format!(
            "- name: worker-{i}\n  ips: [10.240.{}.{}]\n",
            1 + i / 200,
            20 + i % 200
        ));
    }
    let path = t.file("cluster.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn hw(t: &TreeDir, cluster: &std::path::Path, args: &[&str]) -> Command {
    let mut c = kpki();
    c.args(args)
        .args(["--profile", "hard-way", "--cluster"])
        .arg(cluster)
        .arg("--cert-dir")
        .arg(t.pki());
    c
}

fn openssl_ok(args: &[&str], extra: &[&std::path::Path]) -> bool {
    Command::new(tool("openssl"))
        .args(args)
        .args(extra)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn the_hard_way_tree_passes_openssl_etcd_and_kubectl() {
    let t = TreeDir::new();
    let cluster = fixture("hard-way/cluster.yaml");
    ok(hw(&t, &cluster, &["init"]).env_remove("KPKI_NOW"));
    let p = |f: &str| t.pki().join(f);
    let ca = p("ca.crt");
    // Every worker: server for its name and IP, client for the API server.
    for (w, ip) in [("worker-0", "10.240.0.20"), ("worker-1", "10.240.0.21")] {
        assert!(
            openssl_ok(
                &[
                    "verify",
                    "-purpose",
                    "sslserver",
                    "-verify_hostname",
                    w,
                    "-CAfile"
                ],
                &[&ca, &p(&format!("{w}.crt"))]
            ),
            "{w}"
        );
        assert!(
            openssl_ok(
                &[
                    "verify",
                    "-purpose",
                    "sslserver",
                    "-verify_ip",
                    ip,
                    "-CAfile"
                ],
                &[&ca, &p(&format!("{w}.crt"))]
            ),
            "{w} {ip}"
        );
        assert!(
            openssl_ok(
                &["verify", "-purpose", "sslclient", "-CAfile"],
                &[&ca, &p(&format!("{w}.crt"))]
            ),
            "{w} client"
        );
        assert!(
            !openssl_ok(
                &[
                    "verify",
                    "-purpose",
                    "sslserver",
                    "-verify_hostname",
                    "worker-9",
                    "-CAfile"
                ],
                &[&ca, &p(&format!("{w}.crt"))]
            ),
            "{w} must not serve worker-9"
        );
        let subject = Command::new(tool("openssl"))
            .args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"])
            .arg(p(&format!("{w}.crt")))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&subject.stdout).trim(),
            format!("subject=CN=system:node:{w},O=system:nodes")
        );
    }
    for name in [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
    ] {
        assert!(
            openssl_ok(
                &[
                    "verify",
                    "-purpose",
                    "sslserver",
                    "-verify_hostname",
                    name,
                    "-CAfile"
                ],
                &[&ca, &p("kube-api-server.crt")]
            ),
            "{name}"
        );
    }
    for ip in [
        "10.32.0.1",
        "10.240.0.10",
        "10.240.0.11",
        "203.0.113.10",
        "127.0.0.1",
    ] {
        assert!(
            openssl_ok(
                &[
                    "verify",
                    "-purpose",
                    "sslserver",
                    "-verify_ip",
                    ip,
                    "-CAfile"
                ],
                &[&ca, &p("kube-api-server.crt")]
            ),
            "{ip}"
        );
    }
    for (cert, subject) in [
        ("admin", "CN=admin,O=system:masters"),
        ("kube-proxy", "CN=system:kube-proxy,O=system:node-proxier"),
        (
            "kube-scheduler",
            "CN=system:kube-scheduler,O=system:kube-scheduler",
        ),
        (
            "kube-controller-manager",
            "CN=system:kube-controller-manager,O=system:kube-controller-manager",
        ),
        ("service-accounts", "CN=service-accounts"),
    ] {
        assert!(
            openssl_ok(
                &["verify", "-purpose", "sslclient", "-CAfile"],
                &[&ca, &p(&format!("{cert}.crt"))]
            ),
            "{cert}"
        );
        let out = Command::new(tool("openssl"))
            .args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"])
            .arg(p(&format!("{cert}.crt")))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("subject={subject}"),
            "{cert}"
        );
    }
    // Leaves one year, CA ten years.
    let days = |f: &str| {
        let out = Command::new(tool("openssl"))
            .args([
                "x509",
                "-noout",
                "-checkend",
                &(366 * 86400).to_string(),
                "-in",
            ])
            .arg(p(f))
            .output()
            .unwrap();
        out.status.success()
    };
    assert!(!days("worker-0.crt") && days("ca.crt"));

    // A real etcd on 127.0.0.1 with controller-0's certificate, client certificates required.
    let data = tempfile::tempdir().unwrap();
    let (client_port, peer_port) = (free_port(), free_port());
    let _etcd = Child(
        Command::new(tool("etcd"))
            .args(["--name", "controller-0", "--data-dir"])
            .arg(data.path())
            .args([
                "--listen-client-urls",
                &format!("https://127.0.0.1:{client_port}"),
                "--advertise-client-urls",
                &format!("https://127.0.0.1:{client_port}"),
            ])
            .args([
                "--listen-peer-urls",
                &format!("https://127.0.0.1:{peer_port}"),
                "--initial-advertise-peer-urls",
                &format!("https://127.0.0.1:{peer_port}"),
            ])
            .args([
                "--initial-cluster",
                &format!("controller-0=https://127.0.0.1:{peer_port}"),
            ])
            .arg("--cert-file")
            .arg(p("etcd-controller-0.crt"))
            .arg("--key-file")
            .arg(p("etcd-controller-0.key"))
            .arg("--peer-cert-file")
            .arg(p("etcd-controller-0.crt"))
            .arg("--peer-key-file")
            .arg(p("etcd-controller-0.key"))
            .arg("--trusted-ca-file")
            .arg(&ca)
            .arg("--peer-trusted-ca-file")
            .arg(&ca)
            .args(["--client-cert-auth", "--peer-client-cert-auth"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(client_port);
    let etcdctl = |cert: &std::path::Path, key: &std::path::Path| {
        Command::new(tool("etcdctl"))
            .env("ETCDCTL_API", "3")
            .args([
                "--endpoints",
                &format!("https://127.0.0.1:{client_port}"),
                "--dial-timeout",
                "5s",
                "--command-timeout",
                "10s",
                "--cacert",
            ])
            .arg(&ca)
            .arg("--cert")
            .arg(cert)
            .arg("--key")
            .arg(key)
            .args(["put", "/registry/x", "y"])
            .output()
            .unwrap()
    };
    let good = etcdctl(&p("kube-api-server.crt"), &p("kube-api-server.key"));
    assert!(
        good.status.success(),
        "kube-api-server refused by etcd: {}",
        stderr_of(&good)
    );
    let other = TreeDir::new();
    ok(hw(&other, &cluster, &["init"]).env_remove("KPKI_NOW"));
    let foreign = etcdctl(
        &other.pki().join("kube-api-server.crt"),
        &other.pki().join("kube-api-server.key"),
    );
    assert!(
        !foreign.status.success(),
        "etcd accepted a certificate of another CA"
    );

    // kubectl reads every kubeconfig, with the right server for each.
    for (file, user, server) in [
        ("admin.kubeconfig", "admin", "https://203.0.113.10:6443"),
        (
            "worker-0.kubeconfig",
            "system:node:worker-0",
            "https://203.0.113.10:6443",
        ),
        (
            "worker-1.kubeconfig",
            "system:node:worker-1",
            "https://203.0.113.10:6443",
        ),
        (
            "kube-proxy.kubeconfig",
            "system:kube-proxy",
            "https://203.0.113.10:6443",
        ),
        (
            "kube-controller-manager.kubeconfig",
            "system:kube-controller-manager",
            "https://127.0.0.1:6443",
        ),
        (
            "kube-scheduler.kubeconfig",
            "system:kube-scheduler",
            "https://127.0.0.1:6443",
        ),
    ] {
        let out = Command::new(kubectl())
            .args([
                "config",
                "view",
                "--raw",
                "-o",
                "jsonpath={.users[0].name} {.clusters[0].cluster.server} {.current-context}",
                "--kubeconfig",
            ])
            .arg(p(file))
            .output()
            .unwrap();
        assert!(out.status.success(), "{file}: {}", stderr_of(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{user} {server} {user}@kubernetes-the-hard-way"),
            "{file}"
        );
    }
    // kubectl as admin completes mutual TLS with a server holding kube-api-server's certificate.
    let page = kubectl_mtls(
        &ca,
        &p("kube-api-server.crt"),
        &p("kube-api-server.key"),
        &p("admin.kubeconfig"),
    );
    assert!(page.contains("CN=admin"), "{page}");
}

#[test]
fn many_workers_in_one_command_all_verified() {
    let t = TreeDir::new();
    let cluster = cluster_file(&t, 300, "ECDSA-P256");
    ok(&mut hw(&t, &cluster, &["init"]));
    // kpki verify checks every file against the description (chains, usages, SANs, pairs).
    let v = hw(&t, &cluster, &["verify"]).output().unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
    assert_eq!(
        std::fs::read_dir(t.pki()).unwrap().count(),
        2 * (7 + 2 + 300) + 4 + 300,
        "every file, nothing else"
    );
    // openssl spot-checks a few workers.
    for i in [0usize, 151, 299] {
        let ip = format!("10.240.{}.{}", 1 + i / 200, 20 + i % 200);
        assert!(
            openssl_ok(
                &[
                    "verify",
                    "-purpose",
                    "sslserver",
                    "-attime",
                    &NOW.to_string(),
                    "-verify_ip",
                    &ip,
                    "-CAfile"
                ],
                &[
                    &t.pki().join("ca.crt"),
                    &t.pki().join(format!("worker-{i}.crt"))
                ]
            ),
            "worker-{i}"
        );
    }
}

#[test]
fn adding_a_worker_changes_no_other_file() {
    let t = TreeDir::new();
    let cluster = cluster_file(&t, 3, "ECDSA-P256");
    ok(&mut hw(&t, &cluster, &["init"]));
    let before = snapshot(t.root());
    let out = ok(&mut hw(
        &t,
        &cluster,
        &["node", "add", "worker-3", "--ip", "10.240.9.9"],
    ));
    assert!(out.contains("Generating \"worker-3\""), "{out}");
    let after = snapshot(t.root());
    for (path, meta) in &before {
        if path == "cluster.yaml" {
            continue;
        }
        assert_eq!(after.get(path), Some(meta), "{path} changed");
    }
    let new: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert_eq!(
        new,
        [
            "pki/worker-3.crt",
            "pki/worker-3.key",
            "pki/worker-3.kubeconfig"
        ]
    );
    assert!(std::fs::read_to_string(&cluster)
        .unwrap()
        .contains("- name: worker-3\n  ips: [10.240.9.9]"));
    // Editing the file and rerunning init is the same: only the new worker's files appear.
    let mut text = std::fs::read_to_string(&cluster).unwrap();
    text.push_str("- name: worker-4\n  ips: [10.240.9.10]\n");
    std::fs::write(&cluster, text).unwrap();
    let before = snapshot(t.root());
    ok(&mut hw(&t, &cluster, &["init"]));
    let after = snapshot(t.root());
    assert_eq!(after.len(), before.len() + 3);
    assert!(before.iter().all(|(p, m)| after.get(p) == Some(m)));
    // A worker name the layout uses, or a bad IP, is refused with the field named.
    let err = run_expect(&mut hw(&t, &cluster, &["node", "add", "kube-proxy"]), 1);
    assert!(
        stderr_of(&err).contains("taken by a certificate"),
        "{}",
        stderr_of(&err)
    );
    let err = run_expect(
        &mut hw(
            &t,
            &cluster,
            &["node", "add", "worker-9", "--ip", "10.0.0.300"],
        ),
        1,
    );
    assert!(
        stderr_of(&err).contains("ips[0]") && stderr_of(&err).contains("10.0.0.300"),
        "{}",
        stderr_of(&err)
    );
}

#[test]
fn lifecycle_commands_understand_the_profile() {
    let t = TreeDir::new();
    let cluster = cluster_file(&t, 2, "ECDSA-P256");
    ok(&mut hw(&t, &cluster, &["init"]));
    let json: serde_json::Value = serde_json::from_str(&ok(&mut hw(
        &t,
        &cluster,
        &["certs", "check-expiration", "-o", "json"],
    )))
    .unwrap();
    let names: Vec<&str> = json["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"worker-1")
            && names.contains(&"worker-1.kubeconfig")
            && names.contains(&"kube-api-server"),
        "{names:?}"
    );
    assert_eq!(json["certificateAuthorities"][0]["name"], "ca");
    let kubeconfig_before = std::fs::read(t.pki().join("worker-1.kubeconfig")).unwrap();
    let out = ok(&mut hw(
        &t,
        &cluster,
        &["certs", "renew", "worker-1", "--no-backup"],
    ));
    assert!(out.contains("You must restart kubelet"), "{out}");
    assert_ne!(
        std::fs::read(t.pki().join("worker-1.kubeconfig")).unwrap(),
        kubeconfig_before,
        "the kubeconfig embedding worker-1 follows"
    );
    let v = hw(&t, &cluster, &["verify"]).output().unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
    assert_pairs_consistent_flat(&t);
    // A stale kubeconfig (the certificate renewed behind its back) is caught.
    std::fs::write(t.pki().join("worker-1.kubeconfig"), &kubeconfig_before).unwrap();
    let v = hw(&t, &cluster, &["verify"]).output().unwrap();
    assert_eq!(v.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&v.stdout)
        .contains("worker-1.kubeconfig: embeds a certificate other than worker-1.crt"));
    ok(&mut hw(&t, &cluster, &["certs", "list"]));
}

fn assert_pairs_consistent_flat(t: &TreeDir) {
    for e in std::fs::read_dir(t.pki()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(base) = name.strip_suffix(".crt") else {
            continue;
        };
        let pubkey = |args: &[&str], f: &str| {
            Command::new(tool("openssl"))
                .args(args)
                .arg(t.pki().join(f))
                .output()
                .unwrap()
                .stdout
        };
        assert_eq!(
            pubkey(&["x509", "-noout", "-pubkey", "-in"], &name),
            pubkey(&["pkey", "-pubout", "-in"], &format!("{base}.key")),
            "{base}"
        );
    }
}

#[test]
fn a_bad_description_names_the_field() {
    let t = TreeDir::new();
    let cluster = t.file("bad.yaml");
    for (text, expected) in [
        ("apiVersion: kpki.dev/v1alpha1\nkind: Cluster\napiServerAddress: 1.2.3.4\ncontrollers: [{name: c0, ips: [10.0.0.1]}]\nworkers: [{name: w0, ips: [10.0.0.2]}, {name: w0, ips: [10.0.0.3]}]\n", "workers[1].name"),
        ("apiVersion: kpki.dev/v1alpha1\nkind: Cluster\napiServerAddress: 1.2.3.4\ncontrollers: []\n", "controllers"),
        ("apiVersion: kpki.dev/v1alpha1\nkind: Cluster\napiServerAddress: not_valid!\ncontrollers: [{name: c0}]\n", "apiServerAddress"),
        ("apiVersion: kpki.dev/v1alpha1\nkind: Cluster\napiServerAddress: 1.2.3.4\nkeyAlgorithm: DSA\ncontrollers: [{name: c0}]\n", "keyAlgorithm"),
        ("apiVersion: kpki.dev/v1alpha1\nkind: Cluster\napiServerAddress: 1.2.3.4\ncontrollers: [{name: c0, ipz: []}]\n", "controllers[0]"),
    ] {
        std::fs::write(&cluster, text).unwrap();
        let err = run_expect(&mut hw(&t, &cluster, &["init"]), 1);
        let msg = stderr_of(&err);
        assert!(msg.contains("bad.yaml") && msg.contains(expected) && msg.lines().count() == 1, "{expected}: {msg}");
        assert!(!t.pki().exists());
    }
}
