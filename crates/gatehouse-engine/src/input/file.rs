//! Reading a whole file under a size limit, without ever blocking on or
//! exhausting memory through something that is not a regular file.
//!
//! Invariants of [`read_file_limited`]:
//! - only a regular file (after following symlinks) is read: a directory,
//!   FIFO, socket or device is refused by its type before it is opened,
//!   and again after opening (the path may have been swapped in between);
//! - on Unix the file is opened with `O_NONBLOCK`, so even a FIFO swapped in
//!   after the type check cannot make `open` wait for a writer;
//! - at most `max_bytes + 1` bytes are ever read, so a file that grows while
//!   it is read (or a device that never ends) costs at most the limit.

use std::fs::{File, FileType, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Why a file could not be read by [`read_file_limited`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The path names something other than a regular file (after following
    /// symlinks): a directory, FIFO, socket or device.
    #[error("cannot read `{}`: it is {kind}, not a regular file", path.display())]
    NotRegular {
        /// The path as given.
        path: PathBuf,
        /// What it is instead, in words (`a directory`, `a FIFO`, ...).
        kind: &'static str,
    },
    /// The file holds more than the limit (by its metadata, or by what
    /// reading it returned).
    #[error("cannot read `{}`: it is larger than the limit of {limit} bytes", path.display())]
    TooLarge {
        /// The path as given.
        path: PathBuf,
        /// The limit in bytes.
        limit: usize,
    },
    /// The text is not UTF-8.
    #[error("cannot read `{}`: not valid UTF-8 (at byte {at})", path.display())]
    NotUtf8 {
        /// The path as given.
        path: PathBuf,
        /// The offset of the first byte that is not valid UTF-8.
        at: usize,
    },
    /// The operating system refused: missing file, dangling symlink,
    /// symlink loop, permissions.
    #[error("cannot read `{}`: {error}", path.display())]
    Io {
        /// The path as given.
        path: PathBuf,
        /// The underlying error.
        #[source]
        error: std::io::Error,
    },
}

impl ReadError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::NotRegular { path, .. }
            | ReadError::TooLarge { path, .. }
            | ReadError::NotUtf8 { path, .. }
            | ReadError::Io { path, .. } => path,
        }
    }
}

/// Reads a regular file of at most `max_bytes` bytes as UTF-8 text.
///
/// Refuses, without blocking: anything but a regular file (symlinks to
/// regular files are followed), a file whose metadata says it is larger than
/// `max_bytes`, and a file that turns out larger while being read (at most
/// `max_bytes + 1` bytes are read). A leading byte order mark is kept; the
/// parsers deal with it.
pub fn read_file_limited(path: &Path, max_bytes: usize) -> Result<String, ReadError> {
    let io = |error| ReadError::Io {
        path: path.to_path_buf(),
        error,
    };
    // `metadata` follows symlinks: a dangling one or a loop is an error here.
    let meta = std::fs::metadata(path).map_err(io)?;
    check_regular(path, meta.file_type())?;
    check_size(path, meta.len(), max_bytes)?;
    let file = open_nonblocking(path).map_err(io)?;
    // The path may have changed between `metadata` and `open`: check what
    // was actually opened.
    let meta = file.metadata().map_err(io)?;
    check_regular(path, meta.file_type())?;
    check_size(path, meta.len(), max_bytes)?;
    let cap = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut bytes = Vec::new();
    file.take(cap).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() > max_bytes {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            limit: max_bytes,
        });
    }
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        path: path.to_path_buf(),
        at: e.utf8_error().valid_up_to(),
    })
}

fn check_size(path: &Path, len: u64, max_bytes: usize) -> Result<(), ReadError> {
    if len > u64::try_from(max_bytes).unwrap_or(u64::MAX) {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            limit: max_bytes,
        });
    }
    Ok(())
}

fn check_regular(path: &Path, ty: FileType) -> Result<(), ReadError> {
    if ty.is_file() {
        return Ok(());
    }
    Err(ReadError::NotRegular {
        path: path.to_path_buf(),
        kind: describe_type(ty),
    })
}

/// What a non-regular file is, in words.
pub(crate) fn describe_type(ty: FileType) -> &'static str {
    if ty.is_dir() {
        return "a directory";
    }
    if ty.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ty.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ty.is_socket() {
            return "a socket";
        }
        if ty.is_char_device() {
            return "a character device";
        }
        if ty.is_block_device() {
            return "a block device";
        }
    }
    "not a regular file"
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK only matters for FIFOs and devices (which are refused right
    // after); reads of a regular file ignore it.
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-read-limited-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_a_file_up_to_the_limit() {
        let dir = temp_dir("ok");
        let path = dir.join("a.json");
        std::fs::write(&path, "12345").unwrap();
        assert_eq!(read_file_limited(&path, 5).unwrap(), "12345");
        let err = read_file_limited(&path, 4).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { limit: 4, .. }), "{err}");
        assert!(err.to_string().contains("a.json"), "{err}");
    }

    #[test]
    fn refuses_directories_and_missing_files() {
        let dir = temp_dir("dir");
        let err = read_file_limited(&dir, 100).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::NotRegular {
                    kind: "a directory",
                    ..
                }
            ),
            "{err}"
        );
        let err = read_file_limited(&dir.join("missing.json"), 100).unwrap_err();
        assert!(matches!(err, ReadError::Io { .. }), "{err}");
    }

    #[test]
    fn refuses_invalid_utf8() {
        let dir = temp_dir("utf8");
        let path = dir.join("a.json");
        std::fs::write(&path, b"ab\xffcd").unwrap();
        let err = read_file_limited(&path, 100).unwrap_err();
        assert!(matches!(err, ReadError::NotUtf8 { at: 2, .. }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_devices_fifos_and_bad_symlinks_without_blocking() {
        let dir = temp_dir("special");
        // /dev/zero never ends: refused by type, never read.
        let err = read_file_limited(Path::new("/dev/zero"), 100).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::NotRegular {
                    kind: "a character device",
                    ..
                }
            ),
            "{err}"
        );
        let fifo = dir.join("pipe.json");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = read_file_limited(&fifo, 100).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::NotRegular {
                    kind: "a FIFO (named pipe)",
                    ..
                }
            ),
            "{err}"
        );
        // The non-blocking open itself: a FIFO with no writer opens at once.
        let opened = open_nonblocking(&fifo).unwrap();
        assert!(!opened.metadata().unwrap().is_file());

        let dangling = dir.join("dangling.json");
        std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).unwrap();
        assert!(matches!(
            read_file_limited(&dangling, 100).unwrap_err(),
            ReadError::Io { .. }
        ));
        let looped = dir.join("loop.json");
        std::os::unix::fs::symlink(&looped, &looped).unwrap();
        assert!(matches!(
            read_file_limited(&looped, 100).unwrap_err(),
            ReadError::Io { .. }
        ));
        let target = dir.join("real.json");
        std::fs::write(&target, "{}").unwrap();
        let link = dir.join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read_file_limited(&link, 100).unwrap(), "{}");
    }
}
