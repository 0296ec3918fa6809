//! check-expiration, renew and verify on a tree real kubeadm made and on kpki trees.

mod common;
use common::*;

use std::time::Duration;

/// "Now" a minute after kubeadm made the fixture (when its check-expiration.txt was taken).
const FIXTURE_NOW: u64 = NOW + 68;

fn columns(line: &str) -> Vec<String> {
    line.split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn check_expiration_matches_kubeadms_own_output_for_its_tree() {
    let t = kubeadm_fixture_copy();
    let ours = ok(kpki_at(FIXTURE_NOW)
        .args(["certs", "check-expiration", "--cert-dir"])
        .arg(t.pki())
        .arg("--kubeconfig-dir")
        .arg(t.root()));
    let theirs = std::fs::read_to_string(fixture("kubeadm-v1.20.2/check-expiration.txt")).unwrap();
    let theirs: Vec<&str> = theirs.lines().filter(|l| !l.starts_with('W')).collect();
    let ours: Vec<&str> = ours.lines().collect();
    // Documented differences: kubeadm ≥ v1.31 names "ca" as the kubeconfigs' CA (v1.20 left it
    // blank), and kpki also lists kubelet.conf (kubeadm never does).
    let ours_without_kubelet: Vec<&str> = ours
        .iter()
        .copied()
        .filter(|l| !l.starts_with("kubelet.conf"))
        .collect();
    assert_eq!(
        ours_without_kubelet.len(),
        theirs.len(),
        "{}",
        ours.join("\n")
    );
    for (o, k) in ours_without_kubelet.iter().zip(&theirs) {
        if k.contains(".conf ") {
            let mut expected = columns(k);
            expected.insert(3, "ca".into());
            assert_eq!(columns(o), expected, "kubeconfig row");
        } else {
            assert_eq!(o.trim_end(), k.trim_end(), "identical row");
        }
    }
    let kubelet = ours
        .iter()
        .find(|l| l.starts_with("kubelet.conf"))
        .expect("kubelet.conf row");
    assert_eq!(
        columns(kubelet),
        ["kubelet.conf", "Nov 25, 2027 01:45 UTC", "364d", "ca", "no"]
    );
}

#[test]
fn check_expiration_json_and_yaml_use_kubeadms_field_names() {
    let t = kubeadm_fixture_copy();
    let args = |fmt: &str| {
        let mut c = kpki_at(FIXTURE_NOW);
        c.args(["certs", "check-expiration", "-o", fmt, "--cert-dir"])
            .arg(t.pki())
            .arg("--kubeconfig-dir")
            .arg(t.root());
        c
    };
    let json: serde_json::Value = serde_json::from_str(&ok(&mut args("json"))).unwrap();
    assert_eq!(json["apiVersion"], "output.kubeadm.k8s.io/v1alpha3");
    assert_eq!(json["kind"], "CertificateExpirationInfo");
    let apiserver = json["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "apiserver")
        .unwrap();
    assert_eq!(apiserver["expirationDate"], "2027-11-25T01:45:52Z");
    assert_eq!(apiserver["caName"], "ca");
    assert_eq!(apiserver["externallyManaged"], false);
    assert_eq!(apiserver["missing"], false);
    assert_eq!(apiserver["residualTime"], 365 * 86400 - 68);
    let ca = &json["certificateAuthorities"][0];
    assert_eq!(ca["name"], "ca");
    assert!(ca.get("caName").is_none(), "caName omitted for CAs");
    // YAML, read by Python's PyYAML: the same object.
    let yaml_path = t.file("report.yaml");
    std::fs::write(&yaml_path, ok(&mut args("yaml"))).unwrap();
    let script = format!(
        "import json,yaml;print(json.dumps(yaml.safe_load(open({:?}))))",
        yaml_path.display().to_string()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    let from_yaml: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_yaml, json);
}

#[test]
fn check_expiration_exit_codes() {
    let t = TreeDir::new();
    t.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    let run = |now: u64, extra: &[&str]| {
        let mut c = kpki_at(now);
        c.args(["certs", "check-expiration", "--cert-dir"])
            .arg(t.pki())
            .arg("--kubeconfig-dir")
            .arg(t.root())
            .args(extra);
        c.output().unwrap().status.code().unwrap()
    };
    assert_eq!(run(NOW, &[]), 0, "fresh tree");
    assert_eq!(
        run(NOW + 340 * 86400, &[]),
        3,
        "25 days left, default window 30d"
    );
    assert_eq!(
        run(NOW + 340 * 86400, &["--warn-within", "7d"]),
        0,
        "outside a 7-day window"
    );
    assert_eq!(run(NOW + 366 * 86400, &[]), 4, "expired");
    let bad = run_expect(
        kpki().args(["certs", "check-expiration", "--warn-within", "soon"]),
        1,
    );
    assert!(stderr_of(&bad).contains("--warn-within"));
    std::fs::remove_file(t.pki().join("front-proxy-client.crt")).unwrap();
    assert_eq!(run(NOW, &[]), 4, "missing");
    // The JSON marks the row.
    let json: serde_json::Value = serde_json::from_slice(
        &t.kpki(&["certs", "check-expiration", "-o", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let row = json["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "front-proxy-client")
        .unwrap();
    assert_eq!(row["missing"], true);
    std::fs::write(t.pki().join("front-proxy-client.crt"), "garbage").unwrap();
    assert_eq!(run(NOW, &[]), 4, "unreadable");
}

fn cert_fields(path: &std::path::Path) -> (String, String, String, String) {
    let out = std::process::Command::new(tool("openssl"))
        .args([
            "x509",
            "-noout",
            "-subject",
            "-serial",
            "-ext",
            "subjectAltName,extendedKeyUsage,keyUsage",
            "-in",
        ])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let serial = text
        .lines()
        .find(|l| l.starts_with("serial="))
        .unwrap_or("")
        .to_string();
    let subject = text
        .lines()
        .find(|l| l.starts_with("subject="))
        .unwrap_or("")
        .to_string();
    let rest: String = text
        .lines()
        .filter(|l| !l.starts_with("serial=") && !l.starts_with("subject="))
        .collect::<Vec<_>>()
        .join("\n");
    let pubkey = std::process::Command::new(tool("openssl"))
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(path)
        .output()
        .unwrap();
    (
        subject,
        rest,
        serial,
        String::from_utf8_lossy(&pubkey.stdout).into_owned(),
    )
}

#[test]
fn renew_all_on_the_kubeadm_tree_keeps_identity_and_changes_serials_and_keys() {
    let t = kubeadm_fixture_copy();
    let leaves = [
        "apiserver",
        "apiserver-kubelet-client",
        "front-proxy-client",
        "etcd/server",
        "etcd/peer",
        "etcd/healthcheck-client",
        "apiserver-etcd-client",
    ];
    let before: Vec<_> = leaves
        .iter()
        .map(|l| cert_fields(&t.pki().join(format!("{l}.crt"))))
        .collect();
    let admin_before = std::fs::read_to_string(t.file("admin.conf")).unwrap();
    let out = ok(kpki_at(FIXTURE_NOW + 300 * 86400)
        .args(["certs", "renew", "all", "--cert-dir"])
        .arg(t.pki())
        .arg("--kubeconfig-dir")
        .arg(t.root()));
    assert!(
        out.contains("certificate for serving the Kubernetes API renewed"),
        "{out}"
    );
    assert!(out.contains("You must restart kube-apiserver"), "{out}");
    for (leaf, (subject, exts, serial, key)) in leaves.iter().zip(before) {
        let (s2, e2, serial2, key2) = cert_fields(&t.pki().join(format!("{leaf}.crt")));
        assert_eq!(s2, subject, "{leaf}: subject kept");
        assert_eq!(e2, exts, "{leaf}: SANs and usages kept");
        assert_ne!(serial2, serial, "{leaf}: new serial");
        assert_ne!(key2, key, "{leaf}: new key");
    }
    let admin_after = std::fs::read_to_string(t.file("admin.conf")).unwrap();
    assert_ne!(admin_after, admin_before);
    assert_pairs_consistent(&t);
    // The renewed certificates now run a year from the renewal.
    let json: serde_json::Value = serde_json::from_slice(
        &kpki_at(FIXTURE_NOW + 300 * 86400)
            .args(["certs", "check-expiration", "-o", "json", "--cert-dir"])
            .arg(t.pki())
            .arg("--kubeconfig-dir")
            .arg(t.root())
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    for row in json["certificates"].as_array().unwrap() {
        if row["name"] != "kubelet.conf" {
            assert_eq!(row["residualTime"], 8760 * 3600, "{row}");
        }
    }
    let ca = std::fs::read(t.pki().join("ca.crt")).unwrap();
    assert_eq!(
        ca,
        std::fs::read(fixture("kubeadm-v1.20.2/pki/ca.crt")).unwrap(),
        "CAs are not renewed"
    );
    // openssl still verifies the renewed serving certificate for its names.
    let v = std::process::Command::new(tool("openssl"))
        .args([
            "verify",
            "-purpose",
            "sslserver",
            "-verify_hostname",
            "api.example.test",
        ])
        .args([
            "-attime",
            &(FIXTURE_NOW + 300 * 86400 + 60).to_string(),
            "-CAfile",
        ])
        .arg(t.pki().join("ca.crt"))
        .arg(t.pki().join("apiserver.crt"))
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    // A backup of what was replaced, private.
    let backups: Vec<_> = std::fs::read_dir(t.root())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("kpki-backup-"))
        .collect();
    assert_eq!(backups.len(), 1);
    let b = backups[0].path();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&b).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::read(b.join("pki/apiserver.crt")).unwrap(),
        std::fs::read(fixture("kubeadm-v1.20.2/pki/apiserver.crt")).unwrap()
    );
    assert_eq!(
        std::fs::metadata(b.join("pki/apiserver.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::read_to_string(b.join("admin.conf")).unwrap(),
        admin_before
    );
}

#[test]
fn renew_if_expiring_within_only_touches_what_is_due() {
    let t = TreeDir::new();
    t.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    let before = snapshot(t.root());
    let out = ok(&mut t.kpki(&["certs", "renew", "all", "--if-expiring-within", "30d"]));
    assert!(out.contains("Nothing was renewed"), "{out}");
    assert_eq!(
        snapshot(t.root()),
        before,
        "nothing due: no writes, no backup"
    );
    // 20 days before expiry everything is due.
    let out = ok(kpki_at(NOW + 345 * 86400)
        .args([
            "certs",
            "renew",
            "all",
            "--if-expiring-within",
            "30d",
            "--no-backup",
            "--cert-dir",
        ])
        .arg(t.pki())
        .arg("--kubeconfig-dir")
        .arg(t.root()));
    assert!(
        out.contains("certificate for serving etcd renewed"),
        "{out}"
    );
    assert_pairs_consistent(&t);
}

#[test]
fn renew_with_reuse_key_keeps_keys_and_named_renewals_touch_only_those() {
    let t = TreeDir::new();
    t.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    let key_before = std::fs::read(t.pki().join("apiserver.key")).unwrap();
    let crt_before = std::fs::read(t.pki().join("apiserver.crt")).unwrap();
    let peer_before = std::fs::read(t.pki().join("etcd/peer.crt")).unwrap();
    ok(&mut t.kpki(&["certs", "renew", "apiserver", "--reuse-key", "--no-backup"]));
    assert_eq!(
        std::fs::read(t.pki().join("apiserver.key")).unwrap(),
        key_before
    );
    assert_ne!(
        std::fs::read(t.pki().join("apiserver.crt")).unwrap(),
        crt_before
    );
    assert_eq!(
        std::fs::read(t.pki().join("etcd/peer.crt")).unwrap(),
        peer_before
    );
    // The key algorithm follows the flag when given.
    ok(&mut t.kpki(&[
        "certs",
        "renew",
        "etcd-peer",
        "--key-algorithm",
        "RSA-2048",
        "--no-backup",
    ]));
    assert!(std::fs::read_to_string(t.pki().join("etcd/peer.key"))
        .unwrap()
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert_pairs_consistent(&t);
}

#[test]
fn renew_skips_an_external_ca_and_refuses_cas() {
    let t = TreeDir::new();
    t.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    std::fs::remove_file(t.pki().join("ca.key")).unwrap();
    let out = ok(&mut t.kpki(&["certs", "renew", "all", "--no-backup"]));
    assert!(
        out.contains("Detected external ca, apiserver can't be renewed"),
        "{out}"
    );
    assert!(
        out.contains("certificate for serving etcd renewed"),
        "{out}"
    );
    let err = run_expect(
        kpki()
            .args(["certs", "renew", "ca", "--cert-dir"])
            .arg(t.pki()),
        1,
    );
    assert!(
        stderr_of(&err).contains("CAs are not renewed"),
        "{}",
        stderr_of(&err)
    );
    let err = run_expect(
        kpki()
            .args(["certs", "renew", "kubelet.conf", "--cert-dir"])
            .arg(t.pki()),
        1,
    );
    assert!(
        stderr_of(&err).contains("kubelet rotates"),
        "{}",
        stderr_of(&err)
    );
}

#[test]
fn a_locked_tree_makes_renew_wait_then_say_locked() {
    let t = TreeDir::new();
    t.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    let holder = std::fs::File::open(t.pki()).unwrap();
    holder.lock().unwrap();
    let before = snapshot(t.root());
    let out = run_expect(
        &mut t.kpki(&["certs", "renew", "all", "--lock-timeout", "1s"]),
        1,
    );
    assert!(stderr_of(&out).contains("locked"), "{}", stderr_of(&out));
    assert_eq!(snapshot(t.root()), before);
    holder.unlock().unwrap();
    ok(&mut t.kpki(&[
        "certs",
        "renew",
        "all",
        "--lock-timeout",
        "1s",
        "--no-backup",
    ]));
}

#[test]
fn concurrent_renewals_leave_a_consistent_tree() {
    let t = TreeDir::new();
    t.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    let children: Vec<_> = (0..5)
        .map(|_| {
            t.kpki(&["certs", "renew", "all", "--no-backup"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(
            c.wait().unwrap().success(),
            "every run waits for the lock and succeeds"
        );
    }
    assert_pairs_consistent(&t);
    let v = t.kpki(&["verify"]).output().unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
}

#[test]
fn sigkill_at_any_instant_leaves_every_pair_matching() {
    // A deterministic spread of kill instants across the whole run (no wall-clock assertions:
    // only where the kill lands varies).
    let trees = [
        ("kubeadm", kubeadm_fixture_copy()),
        ("ecdsa", {
            let t = TreeDir::new();
            t.init(
                "configs/cluster-v1beta4.yaml",
                &["--key-algorithm", "ECDSA-P256"],
            );
            t
        }),
    ];
    let mut kills = 0;
    for (label, t) in &trees {
        for i in 0..30u64 {
            let mut child = kpki_at(FIXTURE_NOW)
                .args(["certs", "renew", "all", "--no-backup", "--cert-dir"])
                .arg(t.pki())
                .arg("--kubeconfig-dir")
                .arg(t.root())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            // 0–58 ms (RSA renewals of the kubeadm tree take longer, so spread wider there).
            let step = if *label == "kubeadm" { 9 } else { 2 };
            std::thread::sleep(Duration::from_millis((i * step) % 290));
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            kills += 1;
            assert_pairs_consistent(t);
        }
        // And the tree is still renewable and passes verify afterwards.
        ok(kpki_at(FIXTURE_NOW)
            .args(["certs", "renew", "all", "--no-backup", "--cert-dir"])
            .arg(t.pki())
            .arg("--kubeconfig-dir")
            .arg(t.root()));
        let v = kpki_at(FIXTURE_NOW)
            .args(["verify", "--cert-dir"])
            .arg(t.pki())
            .arg("--kubeconfig-dir")
            .arg(t.root())
            .output()
            .unwrap();
        assert_eq!(
            v.status.code(),
            Some(0),
            "{label}: {}",
            String::from_utf8_lossy(&v.stdout)
        );
    }
    assert!(kills >= 50);
}

#[test]
fn check_expiration_reads_the_kubelets_rotated_certificate_file() {
    let (t, other) = (TreeDir::new(), TreeDir::new());
    t.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    // The kubelet rotated its certificate: kubelet.conf now names a file, as kubeadm's does
    // after TLS bootstrap. Use a certificate with a different expiry to see which one is read.
    other.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256", "--cert-validity", "720h"],
    );
    let rotated = t.file("kubelet-client-current.pem");
    std::fs::copy(other.pki().join("apiserver-kubelet-client.crt"), &rotated).unwrap();
    let kubelet_conf = std::fs::read_to_string(t.file("kubelet.conf")).unwrap();
    let rewritten: String = kubelet_conf
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("client-certificate-data:") {
                format!("    client-certificate: {}", rotated.display())
            } else if l.trim_start().starts_with("client-key-data:") {
                format!("    client-key: {}", rotated.display())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(t.file("kubelet.conf"), rewritten).unwrap();
    let json: serde_json::Value = serde_json::from_str(&ok(&mut t.kpki(&[
        "certs",
        "check-expiration",
        "-o",
        "json",
    ])))
    .unwrap();
    let row = json["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "kubelet.conf")
        .unwrap();
    assert_eq!(row["residualTime"], 720 * 3600, "{row}");
}
