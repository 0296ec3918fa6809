//! Shared helpers for the end-to-end tests: run the kpki binary with a fixed "now", hash
//! trees, and drive the real third-party programs the tests check against.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// 2026-11-25T01:45:52Z: the instant the kubeadm fixture was made.
pub const NOW: u64 = 1_795_571_152;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("fixtures").join(rel)
}

/// The kpki binary with KPKI_NOW fixed at `now`.
pub fn kpki_at(now: u64) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kpki"));
    c.env("KPKI_NOW", now.to_string());
    c
}

pub fn kpki() -> Command {
    kpki_at(NOW)
}

/// Runs and returns the output, failing the test with stderr if the exit code differs.
pub fn run_expect(cmd: &mut Command, code: i32) -> Output {
    let out = cmd.output().expect("spawn");
    assert_eq!(
        out.status.code(),
        Some(code),
        "{cmd:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn ok(cmd: &mut Command) -> String {
    String::from_utf8(run_expect(cmd, 0).stdout).unwrap()
}

/// A kpki tree: `<tmp>/pki` and `<tmp>` for kubeconfigs.
pub struct TreeDir {
    pub tmp: tempfile::TempDir,
}

impl TreeDir {
    pub fn new() -> TreeDir {
        TreeDir {
            tmp: tempfile::tempdir().unwrap(),
        }
    }
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }
    pub fn pki(&self) -> PathBuf {
        self.tmp.path().join("pki")
    }
    pub fn file(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }
    /// `kpki <args> --cert-dir pki --kubeconfig-dir .`
    pub fn kpki(&self, args: &[&str]) -> Command {
        let mut c = kpki();
        c.args(args)
            .arg("--cert-dir")
            .arg(self.pki())
            .arg("--kubeconfig-dir")
            .arg(self.root());
        c
    }
    /// `kpki init` with a config file (relative to fixtures/) and extra flags, at [`NOW`].
    pub fn init(&self, config: &str, extra: &[&str]) -> String {
        let cfg = fixture(config);
        let mut c = self.kpki(&["init", "--config", cfg.to_str().unwrap()]);
        c.args(extra);
        ok(&mut c)
    }

    /// The same on the wall clock: for tests where real TLS stacks (etcd, kubectl, openssl)
    /// check validity against the real time.
    pub fn init_live(&self, config: &str, extra: &[&str]) -> String {
        let cfg = fixture(config);
        let mut c = self.kpki(&["init", "--config", cfg.to_str().unwrap()]);
        c.env_remove("KPKI_NOW").args(extra);
        ok(&mut c)
    }
}

/// Every file under `dir` with its bytes' hash and mode.
pub fn snapshot(dir: &Path) -> BTreeMap<String, (u64, u32, std::time::SystemTime)> {
    fn walk(
        base: &Path,
        dir: &Path,
        out: &mut BTreeMap<String, (u64, u32, std::time::SystemTime)>,
    ) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                walk(base, &p, out);
            } else if meta.file_type().is_symlink() && p.is_dir() {
                // `..data`: the generation it names is walked as a directory of its own.
            } else {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(&p).unwrap().hash(&mut h);
                out.insert(
                    p.strip_prefix(base).unwrap().display().to_string(),
                    (
                        h.finish(),
                        meta.permissions().mode() & 0o7777,
                        meta.modified().unwrap(),
                    ),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Runs a helper script from tests/py with python3; returns stdout, failing on non-zero exit.
pub fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(repo().join("tests/py").join(script))
        .args(args)
        .output()
        .expect("python3 is required (with cryptography and PyYAML): .ci/run installs them");
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A required external program: the tests fail (not skip) when it is missing, because .ci/run
/// installs it.
pub fn tool(name: &str) -> PathBuf {
    let candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect())
        .unwrap_or_default();
    candidates
        .into_iter()
        .chain([PathBuf::from("/usr/lib/google-cloud-sdk/bin").join(name)])
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is required by this test; .ci/run installs it"))
}

/// kubectl of a fixed version (the plain `kubectl` on some machines is a dispatcher that asks
/// a server for its version first).
pub fn kubectl() -> PathBuf {
    for v in ["kubectl.1.32", "kubectl.1.33", "kubectl.1.31"] {
        let p = PathBuf::from("/usr/lib/google-cloud-sdk/bin").join(v);
        if p.is_file() {
            return p;
        }
    }
    tool("kubectl")
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts on 127.0.0.1:port (bounded).
pub fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("nothing listens on 127.0.0.1:{port}");
}

/// A child process killed when dropped.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A writable copy of the kubeadm v1.20.2 fixture tree, with the modes kubeadm gave it
/// (git does not keep them).
pub fn kubeadm_fixture_copy() -> TreeDir {
    let t = TreeDir::new();
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let (src, dst) = (e.path(), to.join(e.file_name()));
            if src.is_dir() {
                copy(&src, &dst);
            } else {
                std::fs::copy(&src, &dst).unwrap();
                let name = dst.file_name().unwrap().to_string_lossy().into_owned();
                let mode = if name.ends_with(".crt")
                    || name.ends_with(".txt")
                    || name.ends_with(".md")
                    || name.ends_with(".yaml")
                {
                    0o644
                } else {
                    0o600
                };
                std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(mode)).unwrap();
            }
        }
    }
    copy(&fixture("kubeadm-v1.20.2"), t.root());
    t
}

/// The pairs of a tree all match and chain (tests/py/check_pairs.py).
pub fn assert_pairs_consistent(t: &TreeDir) {
    let report = python(
        "check_pairs.py",
        &[t.pki().to_str().unwrap(), t.root().to_str().unwrap()],
    );
    assert!(report.starts_with("ok: "), "{report}");
}

/// kubectl with `kubeconfig` against a TLS server (openssl s_server on 127.0.0.1) holding
/// `cert`/`key` and requiring a client certificate signed by `ca`; returns the page openssl
/// serves, which shows the client certificate it verified.
pub fn kubectl_mtls(ca: &Path, cert: &Path, key: &Path, kubeconfig: &Path) -> String {
    let port = free_port();
    let server = Child(
        Command::new(tool("openssl"))
            .args([
                "s_server",
                "-accept",
                &format!("127.0.0.1:{port}"),
                "-www",
                "-Verify",
                "1",
                "-verify_return_error",
            ])
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .arg("-CAfile")
            .arg(ca)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port);
    let out = Command::new(kubectl())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "--server",
            &format!("https://127.0.0.1:{port}"),
            "--request-timeout",
            "10s",
            "get",
            "--raw",
            "/",
        ])
        .output()
        .unwrap();
    drop(server);
    assert!(out.status.success(), "kubectl: {}", stderr_of(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
