//! The certificate API workflow: new users, CSR manifests, signing as the cluster signer,
//! extracting, user kubeconfigs, an external CA.

mod common;
use common::*;

use std::process::Command;

fn openssl(args: &[&str], dir: &std::path::Path) {
    let out = Command::new(tool("openssl"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        stderr_of(&out)
    );
}

fn subject_orgs(cert: &std::path::Path) -> String {
    let out = Command::new(tool("openssl"))
        .args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn verify_client(ca: &std::path::Path, cert: &std::path::Path) {
    let out = Command::new(tool("openssl"))
        .args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(ca)
        .arg(cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl verify {}: {}{}",
        cert.display(),
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
}

/// kubectl with `kubeconfig` against a TLS server holding the tree's apiserver certificate
/// that requires a client certificate from ca.crt; returns the page openssl serves (it shows
/// the verified client certificate).
fn kubectl_mtls(t: &TreeDir, kubeconfig: &std::path::Path) -> String {
    common::kubectl_mtls(
        &t.pki().join("ca.crt"),
        &t.pki().join("apiserver.crt"),
        &t.pki().join("apiserver.key"),
        kubeconfig,
    )
}

const OPENSSL_CNF: &str = "[req]\ndistinguished_name = dn\nreq_extensions = ext\nprompt = no\n[dn]\nCN = bob\nO = devs\n[ext]\nsubjectKeyIdentifier = hash\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = clientAuth, serverAuth\nbasicConstraints = CA:TRUE\nsubjectAltName = DNS:bob.example.test\n";

#[test]
fn openssl_made_csrs_go_through_create_and_sign_and_kubectl_authenticates() {
    for alg in ["RSA-2048", "ECDSA-P256"] {
        let t = TreeDir::new();
        t.init_live("configs/local-etcd-127.yaml", &["--key-algorithm", alg]);
        let d = t.root();
        // jane: several groups on the command line. bob: extensions from an openssl config,
        // which the signer drops (CA:TRUE, serverAuth, SKI) and replaces with spec.usages.
        openssl(
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "jane.key",
                "-subj",
                "/CN=jane/O=devs/O=qa",
                "-out",
                "jane.csr.pem",
            ],
            d,
        );
        std::fs::write(d.join("bob.cnf"), OPENSSL_CNF).unwrap();
        openssl(
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "bob.key",
                "-config",
                "bob.cnf",
                "-out",
                "bob.csr.pem",
            ],
            d,
        );
        for (who, groups) in [("jane", "O=qa,O=devs,CN=jane"), ("bob", "O=devs,CN=bob")] {
            let live = |c: &mut Command| {
                c.env_remove("KPKI_NOW");
            };
            let mut create = kpki();
            live(&mut create);
            ok(create.current_dir(d).args([
                "csr",
                "create",
                "--name",
                who,
                "--csr",
                &format!("{who}.csr.pem"),
                "--expiration",
                "24h",
                "--out-dir",
                "req",
            ]));
            let mut sign = kpki();
            live(&mut sign);
            ok(sign.current_dir(d).args([
                "csr",
                "sign",
                &format!("req/{who}-csr.yaml"),
                "--cert-dir",
                "pki",
                "--out",
                &format!("{who}.crt"),
                "--manifest-out",
                &format!("{who}-issued.yaml"),
            ]));
            let cert = d.join(format!("{who}.crt"));
            assert!(
                subject_orgs(&cert).contains(groups),
                "{alg} {who}: {}",
                subject_orgs(&cert)
            );
            verify_client(&t.pki().join("ca.crt"), &cert);
            // extract gives back the same certificate.
            let extracted =
                ok(kpki()
                    .current_dir(d)
                    .args(["csr", "extract", &format!("{who}-issued.yaml")]));
            assert_eq!(extracted, std::fs::read_to_string(&cert).unwrap());
            // A kubeconfig around the pair; kubectl completes mutual TLS with it.
            let mut user = kpki();
            live(&mut user);
            ok(user
                .current_dir(d)
                .args([
                    "kubeconfig",
                    "user",
                    "--client-name",
                    who,
                    "--client-cert",
                    &format!("{who}.crt"),
                    "--client-key",
                    &format!("{who}.key"),
                    "--cert-dir",
                    "pki",
                    "--config",
                ])
                .arg(fixture("configs/local-etcd-127.yaml"))
                .args(["--out", &format!("{who}.conf")]));
            let page = kubectl_mtls(&t, &d.join(format!("{who}.conf")));
            assert!(page.contains(&format!("CN={who}")), "{page}");
        }
        // bob's certificate: the CSR's extensions are gone; usages are the manifest's.
        let text = Command::new(tool("openssl"))
            .args(["x509", "-noout", "-text", "-in"])
            .arg(d.join("bob.crt"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains("CA:FALSE")
                && !text.contains("TLS Web Server Authentication")
                && !text.contains("Subject Key Identifier"),
            "{text}"
        );
        assert!(
            text.contains("DNS:bob.example.test"),
            "SANs are copied: {text}"
        );
    }
}

#[test]
fn kubeconfig_user_issues_verifiable_certificates_and_merges() {
    for alg in ["RSA-2048", "ECDSA-P384"] {
        let t = TreeDir::new();
        t.init_live("configs/local-etcd-127.yaml", &["--key-algorithm", alg]);
        let cfg = fixture("configs/local-etcd-127.yaml");
        let conf = ok(kpki()
            .env_remove("KPKI_NOW")
            .args([
                "kubeconfig",
                "user",
                "--client-name",
                "jane",
                "--org",
                "devs",
                "--org",
                "qa",
                "--validity",
                "24h",
                "--config",
            ])
            .arg(&cfg)
            .arg("--cert-dir")
            .arg(t.pki()));
        let path = t.file("jane.conf");
        std::fs::write(&path, &conf).unwrap();
        let page = kubectl_mtls(&t, &path);
        assert!(page.contains("CN=jane"), "{page}");
        // The certificate inside verifies with openssl against ca.crt.
        let out = Command::new(kubectl())
            .args([
                "config",
                "view",
                "--raw",
                "-o",
                "jsonpath={.users[0].user.client-certificate-data}",
                "--kubeconfig",
            ])
            .arg(&path)
            .output()
            .unwrap();
        use base64::Engine;
        let pem = base64::engine::general_purpose::STANDARD
            .decode(out.stdout)
            .unwrap();
        std::fs::write(t.file("jane.crt"), &pem).unwrap();
        verify_client(&t.pki().join("ca.crt"), &t.file("jane.crt"));
        // Go's encoding: both groups in one RDN, after the CN in RFC 2253's reversed order.
        let subject = subject_orgs(&t.file("jane.crt"));
        assert!(
            subject.contains("CN=jane,O=devs+O=qa") || subject.contains("CN=jane,O=qa+O=devs"),
            "{subject}"
        );

        // Merge into admin.conf: everything it had is still there.
        let before = ok(Command::new(kubectl())
            .args(["config", "view", "--raw", "-o", "json", "--kubeconfig"])
            .arg(t.file("admin.conf")));
        // A cluster of the same name elsewhere would repoint admin's context: refused.
        let clash = run_expect(
            kpki()
                .env_remove("KPKI_NOW")
                .args([
                    "kubeconfig",
                    "user",
                    "--client-name",
                    "bob",
                    "--server",
                    "https://10.9.9.9:6443",
                    "--config",
                ])
                .arg(&cfg)
                .arg("--cert-dir")
                .arg(t.pki())
                .arg("--merge-into")
                .arg(t.file("admin.conf")),
            1,
        );
        assert!(
            stderr_of(&clash).contains("another server or CA"),
            "{}",
            stderr_of(&clash)
        );
        ok(kpki()
            .env_remove("KPKI_NOW")
            .args(["kubeconfig", "user", "--client-name", "bob", "--config"])
            .arg(&cfg)
            .arg("--cert-dir")
            .arg(t.pki())
            .arg("--merge-into")
            .arg(t.file("admin.conf")));
        let after: serde_json::Value = serde_json::from_str(&ok(Command::new(kubectl())
            .args(["config", "view", "--raw", "-o", "json", "--kubeconfig"])
            .arg(t.file("admin.conf"))))
        .unwrap();
        let before: serde_json::Value = serde_json::from_str(&before).unwrap();
        let users: Vec<&str> = after["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap())
            .collect();
        assert!(
            users.contains(&"kubernetes-admin") && users.contains(&"bob"),
            "{users:?}"
        );
        assert_eq!(
            after["current-context"], before["current-context"],
            "the current context is kept"
        );
        assert!(after["contexts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "bob@local"));
        assert_eq!(
            after["users"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["name"] == "kubernetes-admin"),
            before["users"].as_array().unwrap().first()
        );
    }
}

#[test]
fn refused_requests_name_the_reason_and_write_nothing() {
    let t = TreeDir::new();
    t.init(
        "configs/local-etcd-127.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    let d = t.root();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--usages", "client auth,server auth"],
            "invalid usage for client certificate: server auth",
        ),
        (
            &["--expiration", "5m"],
            "300 is less than the minimum of 600 seconds",
        ),
        (
            &["--signer", "kubernetes.io/kubelet-serving"],
            "exactly [system:nodes]",
        ),
        (&["--org", "system:masters"], "system:masters"),
        (
            &[
                "--signer",
                "kubernetes.io/legacy-unknown",
                "--usages",
                "client auth",
            ],
            "legacy signerName is not allowed",
        ),
    ];
    for (extra, message) in cases {
        let before = snapshot(d);
        let out = run_expect(
            kpki()
                .current_dir(d)
                .args(["csr", "create", "--name", "jane", "--out-dir", "req"])
                .args(extra),
            1,
        );
        let err = stderr_of(&out);
        assert!(
            err.contains(message) && err.lines().count() == 1,
            "{extra:?}: {err}"
        );
        assert_eq!(snapshot(d), before, "{extra:?} wrote files");
    }
    // system:masters can be allowed explicitly, and the kubelet signers work with node identities.
    ok(kpki().current_dir(d).args([
        "csr",
        "create",
        "--name",
        "root",
        "--org",
        "system:masters",
        "--allow-system-masters",
        "--out-dir",
        "req",
    ]));
    let err = run_expect(
        kpki()
            .current_dir(d)
            .args(["csr", "sign", "req/root-csr.yaml", "--cert-dir", "pki"]),
        1,
    );
    assert!(
        stderr_of(&err).contains("system:masters"),
        "{}",
        stderr_of(&err)
    );
    ok(kpki().current_dir(d).args([
        "csr",
        "sign",
        "req/root-csr.yaml",
        "--cert-dir",
        "pki",
        "--allow-system-masters",
    ]));
    ok(kpki().current_dir(d).args([
        "csr",
        "create",
        "--name",
        "system:node:n1",
        "--org",
        "system:nodes",
        "--signer",
        "kubernetes.io/kubelet-serving",
        "--dns",
        "n1",
        "--ip",
        "10.0.0.11",
        "--out-dir",
        "kubelet",
    ]));
    let pem = ok(kpki().current_dir(d).args([
        "csr",
        "sign",
        "kubelet/system:node:n1-csr.yaml",
        "--cert-dir",
        "pki",
    ]));
    std::fs::write(d.join("n1.crt"), pem).unwrap();
    let v = Command::new(tool("openssl"))
        .args([
            "verify",
            "-purpose",
            "sslserver",
            "-verify_ip",
            "10.0.0.11",
            "-attime",
            &(NOW + 60).to_string(),
            "-CAfile",
        ])
        .arg(t.pki().join("ca.crt"))
        .arg(d.join("n1.crt"))
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    // A custom signer needs its CA.
    ok(kpki().current_dir(d).args([
        "csr",
        "create",
        "--name",
        "svc",
        "--signer",
        "example.com/internal",
        "--usages",
        "digital signature,server auth",
        "--dns",
        "svc.example.test",
        "--out-dir",
        "custom",
    ]));
    let err = run_expect(
        kpki()
            .current_dir(d)
            .args(["csr", "sign", "custom/svc-csr.yaml", "--cert-dir", "pki"]),
        1,
    );
    assert!(stderr_of(&err).contains("--ca-cert"), "{}", stderr_of(&err));
    ok(kpki().current_dir(d).args([
        "csr",
        "sign",
        "custom/svc-csr.yaml",
        "--ca-cert",
        "pki/front-proxy-ca.crt",
        "--ca-key",
        "pki/front-proxy-ca.key",
    ]));
}

#[test]
fn signing_follows_the_controller_managers_validity_rules() {
    let t = TreeDir::new();
    t.init(
        "configs/local-etcd-127.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    let d = t.root();
    let dates = |expiration: &str, name: &str| {
        ok(kpki().current_dir(d).args([
            "csr",
            "create",
            "--name",
            name,
            "--expiration",
            expiration,
            "--out-dir",
            "v",
        ]));
        let pem = ok(kpki().current_dir(d).args([
            "csr",
            "sign",
            &format!("v/{name}-csr.yaml"),
            "--cert-dir",
            "pki",
        ]));
        let file = d.join(format!("{name}.crt"));
        std::fs::write(&file, pem).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&ok(kpki().args(["inspect", "-o", "json"]).arg(&file))).unwrap();
        let item = json[0]["items"][0].clone();
        (
            item["notBefore"].as_str().unwrap().to_string(),
            item["notAfter"].as_str().unwrap().to_string(),
        )
    };
    // NOW = 2026-11-25T01:45:52Z. 24h ≥ 8h: NotAfter = NotBefore + 24h. 1h < 8h: NotAfter = now + 1h.
    assert_eq!(
        dates("24h", "long"),
        ("2026-11-25T01:40:52Z".into(), "2026-11-26T01:40:52Z".into())
    );
    assert_eq!(
        dates("1h", "short"),
        ("2026-11-25T01:40:52Z".into(), "2026-11-25T02:45:52Z".into())
    );
    // Capped at the signing duration (1 year) and at the CA's NotAfter.
    assert_eq!(dates("87600h", "capped").1, "2027-11-25T01:40:52Z");
}

#[test]
fn extract_quotes_why_there_is_no_certificate() {
    let t = TreeDir::new();
    let d = t.root();
    let base = "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n  name: jane\nspec:\n  request: AAAA\n  signerName: kubernetes.io/kube-apiserver-client\n  usages: [client auth]\n";
    let cases = [
        ("pending.yaml", base.to_string(), "not issued yet: approve it first"),
        ("approved.yaml", format!("{base}status:\n  conditions:\n  - type: Approved\n    status: \"True\"\n    reason: AdminApproval\n    message: ok\n"), "approved but not issued yet"),
        ("denied.yaml", format!("{base}status:\n  conditions:\n  - type: Denied\n    status: \"True\"\n    reason: NotOurs\n    message: jane left the company\n"), "denied (NotOurs): jane left the company"),
        ("failed.yaml", format!("{base}status:\n  conditions:\n  - type: Approved\n    status: \"True\"\n  - type: Failed\n    status: \"True\"\n    reason: SignerValidationFailure\n    message: \"invalid usage for client certificate: server auth\"\n"), "failed (SignerValidationFailure): invalid usage for client certificate: server auth"),
    ];
    for (file, text, message) in cases {
        std::fs::write(d.join(file), text).unwrap();
        let out = run_expect(kpki().current_dir(d).args(["csr", "extract", file]), 1);
        let err = stderr_of(&out);
        assert!(err.contains(message) && err.contains(file), "{file}: {err}");
    }
    // JSON, as `kubectl get csr -o json` prints it.
    std::fs::write(d.join("x.json"), r#"{"apiVersion":"certificates.k8s.io/v1","kind":"CertificateSigningRequest","metadata":{"name":"x"},"spec":{"request":"AAAA","signerName":"kubernetes.io/kube-apiserver-client"}}"#).unwrap();
    let out = run_expect(kpki().current_dir(d).args(["csr", "extract", "x.json"]), 1);
    assert!(
        stderr_of(&out).contains("not issued yet"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn an_external_ca_signs_generated_csrs_and_init_accepts_them_without_the_ca_key() {
    let t = TreeDir::new();
    let cfg = fixture("configs/local-etcd-127.yaml");
    let cfg = cfg.to_str().unwrap();
    // The external CAs (made here by kpki, then taken away: only their certificates stay).
    ok(&mut t.kpki(&[
        "certs",
        "init",
        "ca",
        "front-proxy-ca",
        "etcd-ca",
        "--config",
        cfg,
    ]));
    let ca_keys = t.file("ca-keys");
    std::fs::create_dir(&ca_keys).unwrap();
    for (k, to) in [
        ("ca.key", "ca.key"),
        ("front-proxy-ca.key", "front-proxy-ca.key"),
        ("etcd/ca.key", "etcd-ca.key"),
    ] {
        std::fs::rename(t.pki().join(k), ca_keys.join(to)).unwrap();
    }
    let out = ok(&mut t.kpki(&["certs", "generate-csr", "--config", cfg]));
    assert!(out.contains("apiserver.csr"), "{out}");
    // generate-csr refuses to run twice.
    let again = run_expect(&mut t.kpki(&["certs", "generate-csr", "--config", cfg]), 1);
    assert!(
        stderr_of(&again).contains("already exists"),
        "{}",
        stderr_of(&again)
    );
    // The external CA signs each CSR with openssl, keeping the requested SANs.
    let jobs = [
        ("pki/apiserver", "ca", "serverAuth"),
        ("pki/apiserver-kubelet-client", "ca", "clientAuth"),
        ("pki/front-proxy-client", "front-proxy-ca", "clientAuth"),
        ("pki/etcd/server", "etcd-ca", "serverAuth,clientAuth"),
        ("pki/etcd/peer", "etcd-ca", "serverAuth,clientAuth"),
        ("pki/etcd/healthcheck-client", "etcd-ca", "clientAuth"),
        ("pki/apiserver-etcd-client", "etcd-ca", "clientAuth"),
        ("admin.conf", "ca", "clientAuth"),
        ("super-admin.conf", "ca", "clientAuth"),
        ("kubelet.conf", "ca", "clientAuth"),
        ("controller-manager.conf", "ca", "clientAuth"),
        ("scheduler.conf", "ca", "clientAuth"),
    ];
    let ca_cert = |ca: &str| match ca {
        "ca" => t.pki().join("ca.crt"),
        "front-proxy-ca" => t.pki().join("front-proxy-ca.crt"),
        _ => t.pki().join("etcd/ca.crt"),
    };
    for (base, ca, eku) in jobs {
        let ext = t.file("ext.cnf");
        std::fs::write(&ext, format!("keyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = {eku}\nauthorityKeyIdentifier = keyid\n")).unwrap();
        let out = Command::new(tool("openssl"))
            .args([
                "x509",
                "-req",
                "-days",
                "365",
                "-copy_extensions",
                "copyall",
                "-in",
            ])
            .arg(t.file(&format!("{base}.csr")))
            .arg("-CA")
            .arg(ca_cert(ca))
            .arg("-CAkey")
            .arg(ca_keys.join(format!("{ca}.key")))
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(t.file(&format!("{base}.crt")))
            .output()
            .unwrap();
        assert!(out.status.success(), "{base}: {}", stderr_of(&out));
    }
    // init accepts the dropped-in certificates with every CA key absent, and completes the
    // partial kubeconfigs.
    let out = t.init_live("configs/local-etcd-127.yaml", &[]);
    assert!(
        out.contains("[certs] Using the existing \"apiserver\" certificate and key"),
        "{out}"
    );
    assert!(out.contains("external: its key is absent"), "{out}");
    assert!(
        out.contains(
            "[kubeconfig] Completing \"admin.conf\" with its externally signed certificate"
        ),
        "{out}"
    );
    let v = kpki()
        .env_remove("KPKI_NOW")
        .args(["verify", "--cert-dir"])
        .arg(t.pki())
        .arg("--kubeconfig-dir")
        .arg(t.root())
        .output()
        .unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
    let page = kubectl_mtls(&t, &t.file("admin.conf"));
    assert!(page.contains("CN=kubernetes-admin"), "{page}");
    // check-expiration reports the CAs as externally managed.
    let json: serde_json::Value = serde_json::from_str(&ok(kpki()
        .env_remove("KPKI_NOW")
        .args(["certs", "check-expiration", "-o", "json", "--cert-dir"])
        .arg(t.pki())
        .arg("--kubeconfig-dir")
        .arg(t.root())))
    .unwrap();
    assert!(
        json["certificateAuthorities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["externallyManaged"] == true),
        "{json}"
    );
}
