//! `kpki init` end to end: the tree matches the kubeadm reference for every algorithm (checked
//! with Python `cryptography`), compares field by field with a tree real kubeadm made, and
//! re-runs change nothing.

mod common;
use common::*;

const ALGORITHMS: [&str; 6] = [
    "RSA-2048",
    "RSA-3072",
    "RSA-4096",
    "ECDSA-P256",
    "ECDSA-P384",
    "ED25519",
];

#[test]
fn every_algorithm_makes_the_full_reference_tree() {
    for alg in ALGORITHMS {
        let t = TreeDir::new();
        t.init("configs/cluster-v1beta4.yaml", &["--key-algorithm", alg]);
        let report = python(
            "check_kubeadm_tree.py",
            &[
                t.pki().to_str().unwrap(),
                t.root().to_str().unwrap(),
                alg,
                &NOW.to_string(),
            ],
        );
        assert!(report.starts_with("ok: "), "{alg}: {report}");
        // Exactly the files of the layout, nothing else (no temporary files left behind).
        let files: Vec<String> = snapshot(t.root()).into_keys().collect();
        assert_eq!(
            files,
            [
                "admin.conf",
                "controller-manager.conf",
                "kubelet.conf",
                "pki/apiserver-etcd-client.crt",
                "pki/apiserver-etcd-client.key",
                "pki/apiserver-kubelet-client.crt",
                "pki/apiserver-kubelet-client.key",
                "pki/apiserver.crt",
                "pki/apiserver.key",
                "pki/ca.crt",
                "pki/ca.key",
                "pki/etcd/ca.crt",
                "pki/etcd/ca.key",
                "pki/etcd/healthcheck-client.crt",
                "pki/etcd/healthcheck-client.key",
                "pki/etcd/peer.crt",
                "pki/etcd/peer.key",
                "pki/etcd/server.crt",
                "pki/etcd/server.key",
                "pki/front-proxy-ca.crt",
                "pki/front-proxy-ca.key",
                "pki/front-proxy-client.crt",
                "pki/front-proxy-client.key",
                "pki/sa.key",
                "pki/sa.pub",
                "scheduler.conf",
                "super-admin.conf",
            ],
            "{alg}"
        );
    }
}

#[test]
fn ed25519_keeps_an_ecdsa_service_account_key_and_says_so() {
    let t = TreeDir::new();
    let cfg = fixture("configs/cluster-v1beta4.yaml");
    let out = run_expect(
        &mut t.kpki(&[
            "init",
            "--config",
            cfg.to_str().unwrap(),
            "--key-algorithm",
            "ed25519",
        ]),
        0,
    );
    assert!(
        stderr_of(&out).contains("sa.key is ECDSA-P256"),
        "{}",
        stderr_of(&out)
    );
}

/// The differences between kubeadm v1.20.2 and kpki (which follows kubeadm v1.31+), per file
/// and field. Anything else differing — or any of these not differing — fails the test.
const NEWER_KUBEADM: &[(&str, &str)] = &[
    // v1.31+ CAs carry their own name as a DNS SAN.
    ("ca", "SANs"),
    ("front-proxy-ca", "SANs"),
    ("etcd/ca", "SANs"),
    // v1.31+ leaves carry basicConstraints CA:FALSE.
    ("apiserver", "basic constraints"),
    ("apiserver-kubelet-client", "basic constraints"),
    ("front-proxy-client", "basic constraints"),
    ("etcd/server", "basic constraints"),
    ("etcd/peer", "basic constraints"),
    ("etcd/healthcheck-client", "basic constraints"),
    ("apiserver-etcd-client", "basic constraints"),
    ("admin.conf", "client cert basic constraints"),
    ("kubelet.conf", "client cert basic constraints"),
    ("controller-manager.conf", "client cert basic constraints"),
    ("scheduler.conf", "client cert basic constraints"),
    // …which adds one extension to the list (order otherwise identical).
    ("ca", "extension order"),
    ("front-proxy-ca", "extension order"),
    ("etcd/ca", "extension order"),
    ("apiserver", "extension order"),
    ("apiserver-kubelet-client", "extension order"),
    ("front-proxy-client", "extension order"),
    ("etcd/server", "extension order"),
    ("etcd/peer", "extension order"),
    ("etcd/healthcheck-client", "extension order"),
    ("apiserver-etcd-client", "extension order"),
    ("admin.conf", "client cert extension order"),
    ("kubelet.conf", "client cert extension order"),
    ("controller-manager.conf", "client cert extension order"),
    ("scheduler.conf", "client cert extension order"),
    // v1.31+ backdates NotBefore by 5 minutes; v1.20 leaves start at the CA's NotBefore.
    ("ca", "validity"),
    ("front-proxy-ca", "validity"),
    ("etcd/ca", "validity"),
    ("apiserver", "validity"),
    ("apiserver-kubelet-client", "validity"),
    ("front-proxy-client", "validity"),
    ("etcd/server", "validity"),
    ("etcd/peer", "validity"),
    ("etcd/healthcheck-client", "validity"),
    ("apiserver-etcd-client", "validity"),
    ("admin.conf", "client cert validity"),
    ("kubelet.conf", "client cert validity"),
    ("controller-manager.conf", "client cert validity"),
    ("scheduler.conf", "client cert validity"),
    // Subjects: system:masters is no longer handed out (kubeadm:cluster-admins; etcd clients: none).
    ("apiserver-kubelet-client", "subject"),
    ("etcd/healthcheck-client", "subject"),
    ("apiserver-etcd-client", "subject"),
    ("admin.conf", "client cert subject"),
    // v1.29+ writes super-admin.conf.
    ("super-admin.conf", "file"),
    // v1.20 serialised an empty `as-user-extra: null` in each user.
    ("admin.conf", "users"),
    ("kubelet.conf", "users"),
    ("controller-manager.conf", "users"),
    ("scheduler.conf", "users"),
];

#[test]
fn a_kubeadm_made_tree_and_a_kpki_tree_from_the_same_config_differ_only_where_kubeadm_did() {
    let t = TreeDir::new();
    // The very config kubeadm v1.20.2 was given (v1beta2).
    t.init("kubeadm-v1.20.2/kubeadm-config.yaml", &[]);
    let report = python(
        "compare_with_kubeadm.py",
        &[
            fixture("kubeadm-v1.20.2").to_str().unwrap(),
            t.root().to_str().unwrap(),
        ],
    );
    let mut seen: Vec<(String, String)> = Vec::new();
    for line in report.lines().filter(|l| !l.is_empty()) {
        let mut parts = line.splitn(3, ": ");
        let (file, field) = (
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
        );
        assert!(
            NEWER_KUBEADM.contains(&(file.as_str(), field.as_str())),
            "unexpected difference from kubeadm: {line}"
        );
        seen.push((file, field));
    }
    for (file, field) in NEWER_KUBEADM {
        assert!(
            seen.iter().any(|(f, x)| f == file && x == field),
            "expected {file} {field} to differ from kubeadm v1.20.2, and it does not:\n{report}"
        );
    }
    // The subject differences are exactly the documented ones.
    for expected in [
        "apiserver-kubelet-client: subject: kubeadm=CN=kube-apiserver-kubelet-client,O=system:masters kpki=CN=kube-apiserver-kubelet-client,O=kubeadm:cluster-admins",
        "etcd/healthcheck-client: subject: kubeadm=CN=kube-etcd-healthcheck-client,O=system:masters kpki=CN=kube-etcd-healthcheck-client",
        "admin.conf: client cert subject: kubeadm=CN=kubernetes-admin,O=system:masters kpki=CN=kubernetes-admin,O=kubeadm:cluster-admins",
    ] {
        assert!(report.lines().any(|l| l == expected), "missing: {expected}\n{report}");
    }
}

#[test]
fn the_printed_plan_matches_kubeadms_output() {
    let t = TreeDir::new();
    let out = t.init("kubeadm-v1.20.2/kubeadm-config.yaml", &[]);
    // kubeadm's own lines for the serving certificates, byte for byte.
    let kubeadm = std::fs::read_to_string(fixture("kubeadm-v1.20.2/kubeadm-output.txt")).unwrap();
    for line in kubeadm
        .lines()
        .filter(|l| l.contains("serving cert is signed for") || l.contains("Generating \""))
    {
        assert!(
            out.lines().any(|l| l == line),
            "kubeadm printed {line:?}; kpki printed:\n{out}"
        );
    }
}

#[test]
fn a_second_run_changes_nothing() {
    let t = TreeDir::new();
    t.init("configs/cluster-v1beta4.yaml", &[]);
    let before = snapshot(t.root());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = t.init("configs/cluster-v1beta4.yaml", &[]);
    assert_eq!(
        snapshot(t.root()),
        before,
        "bytes, modes and mtimes unchanged"
    );
    assert!(!out.contains("Generating"), "{out}");
    assert!(
        out.contains("[certs] Using the existing \"apiserver\" certificate and key"),
        "{out}"
    );
}

#[test]
fn each_removed_file_comes_back_and_nothing_else_changes() {
    let t = TreeDir::new();
    t.init("configs/cluster-v1beta4.yaml", &[]);
    for victim in [
        "pki/apiserver.crt",
        "pki/etcd/peer.crt",
        "admin.conf",
        "kubelet.conf",
        "pki/sa.pub",
    ] {
        let before = snapshot(t.root());
        std::fs::remove_file(t.file(victim)).unwrap();
        t.init("configs/cluster-v1beta4.yaml", &[]);
        let after = snapshot(t.root());
        for (path, meta) in &before {
            if path == victim {
                assert!(after.contains_key(path), "{victim} was not restored");
                assert_eq!(after[path].1, meta.1, "{victim}: mode");
            } else {
                assert_eq!(
                    after.get(path),
                    Some(meta),
                    "{path} changed while restoring {victim}"
                );
            }
        }
        assert_eq!(after.len(), before.len());
    }
    // The restored certificates still verify and match their keys.
    let report = python(
        "check_kubeadm_tree.py",
        &[
            t.pki().to_str().unwrap(),
            t.root().to_str().unwrap(),
            "RSA-2048",
            &NOW.to_string(),
        ],
    );
    assert!(report.starts_with("ok"), "{report}");
}

#[test]
fn certs_init_and_kubeconfig_init_make_only_what_is_named() {
    let t = TreeDir::new();
    let cfg = fixture("configs/cluster-v1beta4.yaml");
    let cfg = cfg.to_str().unwrap();
    ok(&mut t.kpki(&["certs", "init", "ca", "--config", cfg]));
    let files: Vec<String> = snapshot(t.root()).into_keys().collect();
    assert_eq!(files, ["pki/ca.crt", "pki/ca.key"]);
    ok(&mut t.kpki(&["certs", "init", "apiserver", "sa", "--config", cfg]));
    ok(&mut t.kpki(&["kubeconfig", "init", "admin", "--config", cfg]));
    let files: Vec<String> = snapshot(t.root()).into_keys().collect();
    assert_eq!(
        files,
        [
            "admin.conf",
            "pki/apiserver.crt",
            "pki/apiserver.key",
            "pki/ca.crt",
            "pki/ca.key",
            "pki/sa.key",
            "pki/sa.pub"
        ]
    );
    // A leaf whose CA does not exist yet is an error naming the CA.
    let out = run_expect(
        &mut t.kpki(&["certs", "init", "front-proxy-client", "--config", cfg]),
        1,
    );
    assert!(
        stderr_of(&out).contains("front-proxy-ca"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn external_etcd_drops_the_etcd_certificates() {
    let t = TreeDir::new();
    let cfg = t.file("external.yaml");
    std::fs::write(
        &cfg,
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint: {advertiseAddress: 10.0.0.10}\nnodeRegistration: {name: n1}\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\netcd:\n  external:\n    endpoints: [https://10.0.0.50:2379]\n",
    )
    .unwrap();
    ok(&mut t.kpki(&["init", "--config", cfg.to_str().unwrap()]));
    assert!(!t.file("pki/etcd").exists());
    assert!(!t.file("pki/apiserver-etcd-client.crt").exists());
    assert!(t.file("pki/apiserver.crt").exists());
}
