//! The on-disk side: reading a PKI's files into a [`Tree`] and writing new files safely.
//!
//! Writing is all-or-nothing for a batch: every file is first staged as a temporary file in
//! its final directory (written, permissions set, fsynced); only when all are staged are they
//! published, each by a no-clobber link, private keys first. A failure while staging leaves
//! nothing behind; a crash while publishing leaves keys whose certificates are missing, which
//! the next `init` completes by issuing certificates for those keys.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::tree::{Dirs, File, FileKind, Location, Tree};

/// Reads a file if it exists. Any other error (permissions, a directory in the way) names the
/// path.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Loads every file of a layout that exists under `dirs` (plus, for kubeconfigs, the
/// certificate files they name and externally signed certificates dropped in beside them).
pub fn load(dirs: &Dirs, layout: &Layout) -> Result<Tree> {
    let mut cert_files: Vec<String> = Vec::new();
    for entry in &layout.certs {
        cert_files.push(entry.cert_file());
        cert_files.push(entry.key_file());
    }
    if let Some(sa) = &layout.service_account {
        cert_files.push(sa.key_file.clone());
        cert_files.push(sa.pub_file.clone());
    }
    // Thousands of small files (the hard way with many workers): read them in parallel.
    use rayon::prelude::*;
    /// A file's bytes and mode, when it exists.
    type Found = Option<(Vec<u8>, u32)>;
    let read: Vec<(String, Found)> = cert_files
        .into_par_iter()
        .map(|rel| {
            let path = dirs.path(Location::CertDir, &rel);
            let found = match read_optional(&path)? {
                Some(bytes) => Some((bytes, mode_of(&path)?)),
                None => None,
            };
            Ok((rel, found))
        })
        .collect::<Result<_>>()?;
    let mut tree = Tree::new();
    for (rel, found) in read {
        if let Some((bytes, mode)) = found {
            tree.set_mode(Location::CertDir, rel.clone(), mode);
            tree.insert(Location::CertDir, rel, bytes);
        }
    }
    for k in &layout.kubeconfigs {
        if let Some(bytes) = read_optional(&dirs.path(Location::KubeconfigDir, &k.file))? {
            // A kubeconfig may name its client certificate by path (kubelet.conf after the
            // kubelet rotated it): read that file too, so reports can see it.
            if let Some(file) = referenced_client_cert(&bytes) {
                let path = dirs.kubeconfig_dir.join(&file);
                if let Some(cert) = read_optional(&path)? {
                    tree.insert(Location::Elsewhere, path.display().to_string(), cert);
                }
            }
            let path = dirs.path(Location::KubeconfigDir, &k.file);
            tree.set_mode(Location::KubeconfigDir, k.file.clone(), mode_of(&path)?);
            // An external CA's signed client certificate for a partial kubeconfig
            // (`certs generate-csr`), dropped in beside it.
            let signed = format!("{}.crt", k.file);
            if let Some(cert) = read_optional(&dirs.path(Location::KubeconfigDir, &signed))? {
                tree.insert(Location::KubeconfigDir, signed, cert);
            }
            tree.insert(Location::KubeconfigDir, k.file.clone(), bytes);
        }
    }
    Ok(tree)
}

/// The permission bits of a file (through links).
fn mode_of(path: &Path) -> Result<u32> {
    Ok(fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .permissions()
        .mode()
        & 0o7777)
}

fn referenced_client_cert(kubeconfig: &[u8]) -> Option<String> {
    let kc = crate::kubeconfig::from_yaml(std::str::from_utf8(kubeconfig).ok()?).ok()?;
    crate::kubeconfig::current_context(&kc)
        .ok()?
        .client_cert_file
}

/// Creates `dir` and its missing parents with mode 0755, returning the ones it created
/// (deepest last) so they can be removed again.
fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    missing.reverse();
    for d in &missing {
        fs::DirBuilder::new()
            .mode(0o755)
            .create(d)
            .map_err(|e| Error::io(d, e))?;
    }
    if !dir.as_os_str().is_empty() && !dir.is_dir() {
        return Err(Error::file(dir, "is not a directory"));
    }
    Ok(missing)
}

struct Staged {
    temp: tempfile::TempPath,
    target: PathBuf,
}

fn stage(dir: &Path, file: &File, target: &Path) -> Result<Staged> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".kpki-")
        .permissions(fs::Permissions::from_mode(file.kind.mode()))
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    // umask may have narrowed the mode; set it exactly (0644 certificates, 0600 the rest).
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(file.kind.mode()))
        .map_err(|e| Error::io(target, e))?;
    tmp.write_all(&file.contents)
        .map_err(|e| Error::io(target, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(target, e))?;
    Ok(Staged {
        temp: tmp.into_temp_path(),
        target: target.to_path_buf(),
    })
}

fn publish_order(kind: FileKind) -> u8 {
    match kind {
        FileKind::PrivateKey => 0,
        FileKind::Certificate => 1,
        FileKind::PublicKey => 2,
        FileKind::Kubeconfig => 3,
        FileKind::Request | FileKind::Manifest => 4,
    }
}

/// Writes new files: none may exist already. All or nothing, as described in the module docs.
/// Returns the paths written, in the order they were published.
pub fn commit(dirs: &Dirs, files: &[File]) -> Result<Vec<PathBuf>> {
    let mut ordered: Vec<&File> = files.iter().collect();
    ordered.sort_by_key(|f| publish_order(f.kind));

    let mut created_dirs = Vec::new();
    let mut staged = Vec::new();
    let staging = (|| -> Result<()> {
        for file in &ordered {
            let target = dirs.path(file.location, &file.path);
            if target.exists() {
                return Err(Error::file(
                    &target,
                    "already exists; kpki does not overwrite it",
                ));
            }
            let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
            created_dirs.extend(create_dirs(&dir)?);
            staged.push(stage(&dir, file, &target)?);
        }
        Ok(())
    })();
    if let Err(e) = staging {
        drop(staged);
        remove_dirs(&created_dirs);
        return Err(e);
    }

    let mut published: Vec<PathBuf> = Vec::new();
    for s in staged {
        let target = s.target.clone();
        if let Err(e) = s.temp.persist_noclobber(&target) {
            // Undo this batch: the files it published are new, so removing them restores the
            // tree as it was.
            for p in &published {
                let _ = fs::remove_file(p);
            }
            remove_dirs(&created_dirs);
            return Err(Error::io(&target, e.error));
        }
        published.push(target);
    }
    let mut synced: Vec<&Path> = Vec::new();
    for p in &published {
        if let Some(dir) = p.parent() {
            if !synced.contains(&dir) {
                sync_dir(dir)?;
                synced.push(dir);
            }
        }
    }
    Ok(published)
}

fn remove_dirs(dirs: &[PathBuf]) {
    for d in dirs.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

/// fsyncs a directory so that renames and links in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// An exclusive advisory lock on a PKI: `flock` on the cert dir itself, so that two kpki runs
/// that write (a cron renewal and a person) never interleave. Nothing is created on disk; the
/// lock goes away with the process, even on SIGKILL.
#[derive(Debug)]
pub struct TreeLock {
    _dir: fs::File,
}

/// Takes the lock on `dir`, waiting up to `wait` for another holder to finish.
pub fn lock(dir: &Path, wait: std::time::Duration) -> Result<TreeLock> {
    let handle = fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        match handle.try_lock() {
            Ok(()) => return Ok(TreeLock { _dir: handle }),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::file(
                    dir,
                    format!(
                        "locked: another kpki run is changing this tree (waited {}s; see --lock-timeout)",
                        wait.as_secs()
                    ),
                ))
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(dir, e)),
        }
    }
}

/// The link through which every replaced file of the cert dir resolves (as in Kubernetes'
/// atomic writer for Secret volumes): `apiserver.crt -> ..data/apiserver.crt`,
/// `..data -> ..kpki-<generation>`.
pub const DATA_LINK: &str = "..data";
const GENERATION_PREFIX: &str = "..kpki-";

/// Replaces (or creates) one file atomically: a temporary file in the same directory,
/// written, fsynced and renamed over `path`, with exactly `mode`.
pub fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".kpki-")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(path, e))?;
    tmp.write_all(contents).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Atomically points `link` at `target` (a new link renamed over the old path).
fn swap_symlink(link: &Path, target: &Path) -> Result<()> {
    let dir = link.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".kpki-link-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, link).map_err(|e| Error::io(link, e))
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .mode(0o755)
        .create(to)
        .map_err(|e| Error::io(to, e))?;
    for entry in fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let meta = entry.metadata().map_err(|e| Error::io(&src, e))?;
        if meta.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            let bytes = fs::read(&src).map_err(|e| Error::io(&src, e))?;
            write_file(&dst, &bytes, meta.permissions().mode() & 0o777)?;
        }
    }
    sync_dir(to)
}

/// Replaces files of a PKI so that a crash at any instant leaves, with no recovery step, every
/// certificate next to the key it was issued with.
///
/// Kubeconfigs are single files: each is replaced by one rename. Files of the cert dir come in
/// pairs, and two renames would leave an instant with a new key beside an old certificate; so
/// the cert dir's replaced files are links through one `..data` link into a generation
/// directory, and a renewal writes a whole new generation and switches `..data` with one
/// rename. A plain file (a tree kubeadm made) is first turned into such a link to an identical
/// copy, which changes nothing a reader sees. When `backup_dir` is given, the files being
/// replaced are copied there first (0700 directory, 0600 files). Call with the [`lock`] held.
pub fn replace(dirs: &Dirs, files: &[File], backup_dir: Option<&Path>) -> Result<Vec<PathBuf>> {
    if let Some(backup) = backup_dir {
        backup_files(dirs, files, backup)?;
    }
    let cert_files: Vec<&File> = files
        .iter()
        .filter(|f| f.location == Location::CertDir)
        .collect();
    if !cert_files.is_empty() {
        replace_in_generation(&dirs.cert_dir, &cert_files)?;
    }
    let mut synced: Vec<PathBuf> = Vec::new();
    for f in files.iter().filter(|f| f.location != Location::CertDir) {
        let path = dirs.path(f.location, &f.path);
        write_file(&path, &f.contents, f.kind.mode())?;
        if let Some(dir) = path.parent() {
            if !synced.iter().any(|d| d == dir) {
                sync_dir(dir)?;
                synced.push(dir.to_path_buf());
            }
        }
    }
    Ok(files
        .iter()
        .map(|f| dirs.path(f.location, &f.path))
        .collect())
}

fn backup_files(dirs: &Dirs, files: &[File], backup: &Path) -> Result<()> {
    create_dirs(backup)?;
    fs::set_permissions(backup, fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(backup, e))?;
    for f in files {
        let src = dirs.path(f.location, &f.path);
        let Some(bytes) = read_optional(&src)? else {
            continue;
        };
        let rel = match f.location {
            Location::CertDir => Path::new("pki").join(&f.path),
            _ => PathBuf::from(&f.path),
        };
        let dst = backup.join(rel);
        if let Some(parent) = dst.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|e| Error::io(parent, e))?;
        }
        write_file(&dst, &bytes, 0o600)?;
    }
    sync_dir(backup)
}

/// `..data`'s current generation, creating an empty first one if the tree has none.
fn current_generation(cert_dir: &Path) -> Result<PathBuf> {
    let link = cert_dir.join(DATA_LINK);
    match fs::read_link(&link) {
        Ok(target) => Ok(cert_dir.join(target)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = generation_name();
            fs::DirBuilder::new()
                .mode(0o755)
                .create(cert_dir.join(&name))
                .map_err(|e| Error::io(cert_dir.join(&name), e))?;
            swap_symlink(&link, Path::new(&name))?;
            sync_dir(cert_dir)?;
            Ok(cert_dir.join(name))
        }
        Err(e) => Err(Error::io(&link, e)),
    }
}

fn generation_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{GENERATION_PREFIX}{nanos}-{}", std::process::id())
}

/// `../..data/etcd/server.crt` for `etcd/server.crt`.
fn link_target(rel: &str) -> PathBuf {
    let depth = Path::new(rel).components().count().saturating_sub(1);
    let mut p = PathBuf::new();
    for _ in 0..depth {
        p.push("..");
    }
    p.join(DATA_LINK).join(rel)
}

fn replace_in_generation(cert_dir: &Path, files: &[&File]) -> Result<()> {
    // Leftovers of an interrupted run: generations that ..data does not point at.
    let current = current_generation(cert_dir)?;
    for entry in fs::read_dir(cert_dir)
        .map_err(|e| Error::io(cert_dir, e))?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(GENERATION_PREFIX) && entry.path() != current {
            let _ = fs::remove_dir_all(entry.path());
        }
    }

    // Every file to replace becomes a link through ..data (to an identical copy first).
    for f in files {
        let path = cert_dir.join(&f.path);
        let is_link = fs::symlink_metadata(&path)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        if is_link {
            continue;
        }
        if let Some(bytes) = read_optional(&path)? {
            let copy = current.join(&f.path);
            if let Some(parent) = copy.parent() {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(parent)
                    .map_err(|e| Error::io(parent, e))?;
            }
            let mode = fs::metadata(&path)
                .map_err(|e| Error::io(&path, e))?
                .permissions()
                .mode()
                & 0o777;
            write_file(&copy, &bytes, mode)?;
            sync_dir(copy.parent().unwrap_or(&current))?;
        }
        if let Some(parent) = path.parent() {
            create_dirs(parent)?;
        }
        swap_symlink(&path, &link_target(&f.path))?;
    }
    sync_dir(cert_dir)?;

    // The next generation: the current one with the new files, then one rename.
    let next_name = generation_name();
    let next = cert_dir.join(&next_name);
    copy_tree(&current, &next)?;
    for f in files {
        let path = next.join(&f.path);
        if let Some(parent) = path.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(parent)
                .map_err(|e| Error::io(parent, e))?;
        }
        write_file(&path, &f.contents, f.kind.mode())?;
        sync_dir(path.parent().unwrap_or(&next))?;
    }
    swap_symlink(&cert_dir.join(DATA_LINK), Path::new(&next_name))?;
    sync_dir(cert_dir)?;
    let _ = fs::remove_dir_all(&current);
    Ok(())
}
