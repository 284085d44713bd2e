//! Replacing a file all at once (`fmt`, `doc --output`; `keygen` creates
//! its key the same way, never replacing a file): the new content
//! goes to a temporary file in the same directory (same file system), is
//! flushed to disk and renamed over the original, so a reader or a crash
//! sees the old file or the new one, never half of one.
//!
//! The temporary file is `tempfile`'s `NamedTempFile`: an unpredictable name
//! created exclusively (no symlink planted in a shared directory is
//! followed), removed when anything fails before the rename.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Replaces the file at `path` with `bytes`. A symlink is followed, so the
/// link stays a link and its target changes. An existing file keeps its
/// permission bits; a new one gets the usual `0666` less the umask.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_with(path, |file| file.write_all(bytes))
}

/// Creates the file at `path` with `bytes`, readable and writable by its
/// owner only (`0600`, tempfile's mode), and fails with `AlreadyExists`
/// rather than replace anything there (even a dangling symlink). The file
/// appears complete or not at all: a crash never leaves half a key.
pub(super) fn create_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".gatehouse-")
        .suffix(".tmp")
        .tempfile_in(&dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist_noclobber(path).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// [`write_atomically`], with `write` producing the content: if it fails
/// (or the process stops before the rename), the old file is untouched.
fn replace_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let existing = std::fs::metadata(&target).ok();
    let mut builder = tempfile::Builder::new();
    builder.prefix(".gatehouse-").suffix(".tmp");
    // tempfile creates with 0600; a new file gets 0666 less the umask, as
    // any other tool's would.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temp = builder.tempfile_in(&dir)?;
    write(temp.as_file_mut())?;
    if let Some(meta) = existing {
        temp.as_file().set_permissions(meta.permissions())?;
    }
    temp.as_file().sync_all()?;
    temp.persist(&target).map_err(|e| e.error)?;
    // The rename itself reaches the disk when the directory does; where a
    // directory cannot be opened (Windows), the rename is still atomic.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".gatehouse-"))
            .collect()
    }

    #[test]
    fn a_write_that_stops_midway_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.gate");
        std::fs::write(&path, "old text\n").unwrap();
        let e = replace_with(&path, |file| {
            file.write_all(b"new te")?;
            Err(std::io::Error::other("stopped midway"))
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "stopped midway");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old text\n");
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn the_new_content_replaces_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.gate");
        std::fs::write(&path, "old\n").unwrap();
        write_atomically(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        write_atomically(&dir.path().join("fresh.md"), b"x").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("fresh.md")).unwrap(),
            "x"
        );
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn a_private_file_is_created_whole_and_never_replaces_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        create_private(&path, b"secret\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "secret\n");
        let e = create_private(&path, b"other\n").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "secret\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dangling = dir.path().join("dangling.key");
            std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
            let e = create_private(&dangling, b"x").unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
            assert!(!dir.path().join("nowhere").exists());
        }
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[cfg(unix)]
    #[test]
    fn the_file_keeps_its_mode_and_a_symlink_stays_a_link() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.gate");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.gate");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        write_atomically(&link, b"new\n").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o640);
    }
}
