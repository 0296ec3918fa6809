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

use crate::config::ClusterConfig;
use crate::error::{Error, Result};
use crate::spec::{CertSpec, KUBEADM_KUBECONFIGS, SA_KEY, SA_PUB};
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

/// Loads every file of the kubeadm layout that exists under `dirs`.
pub fn load(dirs: &Dirs, config: &ClusterConfig) -> Result<Tree> {
    let mut tree = Tree::new();
    let mut cert_files: Vec<String> = Vec::new();
    for spec in CertSpec::for_cluster(config) {
        cert_files.push(spec.cert_file());
        cert_files.push(spec.key_file());
    }
    cert_files.push(SA_KEY.into());
    cert_files.push(SA_PUB.into());
    for rel in cert_files {
        if let Some(bytes) = read_optional(&dirs.path(Location::CertDir, &rel))? {
            tree.insert(Location::CertDir, rel, bytes);
        }
    }
    for spec in KUBEADM_KUBECONFIGS {
        if let Some(bytes) = read_optional(&dirs.path(Location::KubeconfigDir, spec.file))? {
            tree.insert(Location::KubeconfigDir, spec.file, bytes);
        }
    }
    Ok(tree)
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
