//! Bad input: one line naming the file, flag or field, a non-zero exit, and no partial output.

mod common;
use common::*;

/// Runs a failing command and returns its single stderr line, checking the tree under `root`
/// is exactly as before.
fn fails_cleanly(t: &TreeDir, args: &[&str], code: i32) -> String {
    let before = snapshot(t.root());
    let out = run_expect(&mut t.kpki(args), code);
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "expected one line, got:\n{err}");
    assert!(
        out.stdout.is_empty(),
        "printed on failure: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        snapshot(t.root()),
        before,
        "the failed command changed the tree"
    );
    err.trim_end().to_string()
}

fn cfg() -> String {
    fixture("configs/cluster-v1beta4.yaml")
        .display()
        .to_string()
}

#[test]
fn an_apiserver_certificate_from_another_ca_is_refused() {
    let (a, b) = (TreeDir::new(), TreeDir::new());
    a.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    b.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    for f in ["apiserver.crt", "apiserver.key"] {
        std::fs::copy(b.pki().join(f), a.pki().join(f)).unwrap();
    }
    let err = fails_cleanly(&a, &["init", "--config", &cfg()], 1);
    assert!(
        err.contains("pki/apiserver.crt") && err.contains("another CA"),
        "{err}"
    );
}

#[test]
fn a_mismatched_key_is_refused() {
    let (a, b) = (TreeDir::new(), TreeDir::new());
    a.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    b.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    std::fs::copy(b.pki().join("etcd/peer.key"), a.pki().join("etcd/peer.key")).unwrap();
    let err = fails_cleanly(&a, &["init", "--config", &cfg()], 1);
    assert!(
        err.contains("pki/etcd/peer.key: does not match etcd/peer.crt"),
        "{err}"
    );
}

#[test]
fn an_existing_certificate_without_a_newly_wanted_san_is_refused() {
    let t = TreeDir::new();
    t.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    let err = fails_cleanly(
        &t,
        &[
            "init",
            "--config",
            &cfg(),
            "--apiserver-cert-extra-sans",
            "new.example.test",
        ],
        1,
    );
    assert!(
        err.contains("pki/apiserver.crt") && err.contains("DNS:new.example.test"),
        "{err}"
    );
}

#[test]
fn invalid_sans_name_the_flag_or_the_field() {
    let t = TreeDir::new();
    let err = fails_cleanly(
        &t,
        &[
            "init",
            "--apiserver-advertise-address",
            "10.0.0.1",
            "--node-name",
            "n",
            "--apiserver-cert-extra-sans",
            "ok.test,bad_name!",
        ],
        1,
    );
    assert!(
        err.contains("--apiserver-cert-extra-sans") && err.contains("bad_name!"),
        "{err}"
    );
    let bad = fixture("malformed/invalid-san.yaml").display().to_string();
    let err = fails_cleanly(
        &t,
        &[
            "init",
            "--config",
            &bad,
            "--apiserver-advertise-address",
            "10.0.0.1",
        ],
        1,
    );
    assert!(
        err.contains("invalid-san.yaml") && err.contains("apiServer.certSANs[1]"),
        "{err}"
    );
    let err = fails_cleanly(
        &t,
        &[
            "init",
            "--config",
            &cfg(),
            "--apiserver-advertise-address",
            "10.0.0.256",
        ],
        1,
    );
    assert!(
        err.contains("--apiserver-advertise-address") && err.contains("10.0.0.256"),
        "{err}"
    );
}

#[test]
fn an_unknown_algorithm_is_refused() {
    let t = TreeDir::new();
    let err = fails_cleanly(
        &t,
        &["init", "--config", &cfg(), "--key-algorithm", "DSA-1024"],
        1,
    );
    assert!(
        err.contains("--key-algorithm") && err.contains("DSA-1024") && err.contains("ECDSA-P256"),
        "{err}"
    );
}

#[test]
fn malformed_or_missing_config_files_are_named() {
    let t = TreeDir::new();
    let bad = fixture("malformed/unclosed.yaml").display().to_string();
    let err = fails_cleanly(&t, &["init", "--config", &bad], 1);
    assert!(
        err.contains("unclosed.yaml") && err.contains("malformed YAML"),
        "{err}"
    );
    let err = fails_cleanly(&t, &["init", "--config", "/nonexistent/kubeadm.yaml"], 1);
    assert!(err.contains("/nonexistent/kubeadm.yaml"), "{err}");
    let v9 = t.file("v9.yaml");
    std::fs::write(
        &v9,
        "apiVersion: kubeadm.k8s.io/v1beta9\nkind: ClusterConfiguration\n",
    )
    .unwrap();
    let err = fails_cleanly(&t, &["init", "--config", v9.to_str().unwrap()], 1);
    assert!(err.contains("v1beta9"), "{err}");
}

#[test]
fn a_malformed_pem_in_the_tree_is_named() {
    let t = TreeDir::new();
    t.init(
        "configs/cluster-v1beta4.yaml",
        &["--key-algorithm", "ECDSA-P256"],
    );
    std::fs::copy(
        fixture("malformed/garbage.crt"),
        t.pki().join("front-proxy-ca.crt"),
    )
    .unwrap();
    let err = fails_cleanly(&t, &["init", "--config", &cfg()], 1);
    assert!(err.contains("pki/front-proxy-ca.crt"), "{err}");
}

#[test]
fn an_unwritable_directory_leaves_nothing_behind() {
    let t = TreeDir::new();
    // The kubeconfig "directory" is a regular file: nothing can be written there, and the
    // certificates (which could be) must not be written either.
    std::fs::write(t.file("blocker"), "").unwrap();
    let before = snapshot(t.root());
    let out = run_expect(
        kpki()
            .args(["init", "--config", &cfg(), "--cert-dir"])
            .arg(t.pki())
            .arg("--kubeconfig-dir")
            .arg(t.file("blocker")),
        1,
    );
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("blocker"), "{err}");
    assert_eq!(snapshot(t.root()), before);
    assert!(
        !t.pki().exists(),
        "the cert dir was created although the run failed"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = run_expect(kpki().args(["init", "--no-such-flag"]), 2);
    assert!(!stderr_of(&out).is_empty());
    let out = run_expect(
        kpki().args([
            "certs",
            "init",
            "nonsense",
            "--config",
            &cfg(),
            "--cert-dir",
            "/tmp/never-made",
        ]),
        1,
    );
    assert!(
        stderr_of(&out).contains("unknown certificate \"nonsense\""),
        "{}",
        stderr_of(&out)
    );
}
