//! The content digest of a chart directory, part of a release's desired hash, remembered per
//! directory while the files' metadata (relative path, size, modification time) stay the same.
//! A reconcile computes the identity of every chart it renders; reading and hashing every file
//! of the upstream charts each time cost most of an unchanged reconcile, while listing their
//! metadata costs little. A file rewritten in place changes its modification time (nanosecond
//! resolution on the file systems charts live on), so an edited chart is hashed again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, PoisonError};

use sha2::{Digest, Sha256};

/// Per chart directory: the metadata signature and the content digest it had.
static REMEMBERED: LazyLock<Mutex<HashMap<PathBuf, (String, String)>>> =
    LazyLock::new(Mutex::default);

/// The hex SHA-256 of every file under `dir` (following symlinks, such as a shared library
/// chart) in name order, with its relative path. An unreadable directory hashes as empty, and
/// helm will then report the real problem.
pub fn digest(dir: &Path) -> String {
    let signature = hex(walk(dir, Mode::Metadata));
    let mut remembered = REMEMBERED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((known, digest)) = remembered.get(dir)
        && *known == signature
    {
        return digest.clone();
    }
    let digest = hex(walk(dir, Mode::Content));
    remembered.insert(dir.to_owned(), (signature, digest.clone()));
    digest
}

#[derive(Clone, Copy)]
enum Mode {
    /// Relative path, size and modification time of each file.
    Metadata,
    /// Relative path, size and content of each file.
    Content,
}

fn walk(dir: &Path, mode: Mode) -> Sha256 {
    let mut hasher = Sha256::new();
    visit(dir, Path::new(""), &mut hasher, mode);
    hasher
}

fn visit(dir: &Path, relative: &Path, hasher: &mut Sha256, mode: Mode) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let name = relative.join(entry.file_name());
        // `metadata` follows symlinks, as the content read does.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            visit(&path, &name, hasher, mode);
            continue;
        }
        hasher.update(name.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(meta.len().to_le_bytes());
        match mode {
            Mode::Metadata => {
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .unwrap_or_default();
                hasher.update(modified.as_nanos().to_le_bytes());
            }
            Mode::Content => {
                if let Ok(content) = std::fs::read(&path) {
                    hasher.update(&content);
                }
            }
        }
    }
}

fn hex(hasher: Sha256) -> String {
    rockoon_core::values::fingerprint::hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn chart_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("rockoon-digest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::write(dir.join("Chart.yaml"), "name: x\n").unwrap();
        std::fs::write(dir.join("templates/a.yaml"), "a: 1\n").unwrap();
        dir
    }

    #[test]
    fn an_unchanged_chart_keeps_its_digest_and_an_edit_changes_it() {
        let dir = chart_dir("edit");
        let first = digest(&dir);
        assert_eq!(digest(&dir), first);
        // Same size, other content: caught by the modification time.
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::write(dir.join("templates/a.yaml"), "a: 2\n").unwrap();
        let edited = digest(&dir);
        assert_ne!(edited, first);
        std::fs::write(dir.join("templates/b.yaml"), "b: 1\n").unwrap();
        assert_ne!(digest(&dir), edited);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_digest_is_the_content_not_the_metadata() {
        let one = chart_dir("one");
        let two = chart_dir("two");
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::write(two.join("Chart.yaml"), "name: x\n").unwrap();
        assert_eq!(digest(&one), digest(&two), "same files, other times");
        std::fs::remove_dir_all(&one).unwrap();
        std::fs::remove_dir_all(&two).unwrap();
    }
}
