//! Finding and reading policy files. A policy set is the `.gate` files
//! directly inside one directory (or a single `.gate` file).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::input::{ReadError, read_file_limited};
use crate::source::SourceFile;

/// The file extension of policy files.
pub const EXTENSION: &str = "gate";

pub use crate::limits::MAX_FILE_BYTES;

/// Reads one policy set: a `.gate` file, or every `.gate` file directly in a
/// directory, sorted by name.
pub fn read_set(path: &Path) -> Result<Vec<Arc<SourceFile>>, Diagnostics> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, &io_detail(path, &e)))?;
    if !meta.is_dir() {
        // A file, or something that is neither file nor directory: either
        // way `read_file` reads it or says why not.
        return Ok(vec![read_file(path)?]);
    }
    let files = gate_files(path).map_err(|e| io_error(path, &e.to_string()))?;
    if files.is_empty() {
        let nested = find_sets(path);
        let help = if nested.is_empty() {
            "point at a `.gate` file or a directory holding `.gate` files".to_owned()
        } else {
            let names: Vec<String> = nested.iter().map(|p| p.display().to_string()).collect();
            format!(
                "this directory holds several policy sets; pick one: {}",
                names.join(", ")
            )
        };
        return Err(Diagnostic::without_span(
            Code::EmptyPolicySet,
            format!("no `.gate` files directly in `{}`", path.display()),
            help,
        )
        .into());
    }
    let mut out = Vec::new();
    let mut errors = Diagnostics::default();
    for f in files {
        match read_file(&f) {
            Ok(s) => out.push(s),
            Err(e) => errors.0.extend(e.0),
        }
    }
    if errors.has_errors() {
        Err(errors)
    } else {
        Ok(out)
    }
}

/// Every directory under `root` (itself included) that directly holds `.gate`
/// files, sorted; hidden, build and cache directories below the root are
/// not searched ([`skipped_dir`]). A `.gate` file given as root is its own set.
pub fn find_sets(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if root.is_file() {
        out.push(root.to_path_buf());
        return out;
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if gate_files(&dir).is_ok_and(|f| !f.is_empty()) {
            out.push(dir.clone());
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() && !skipped_dir(&p) && !e.file_type().is_ok_and(|t| t.is_symlink()) {
                    stack.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// Directories names that hold build output or dependencies, never a
/// project's own policies (copies of them, at best).
const BUILD_DIRS: &[&str] = &["target", "node_modules", "__pycache__"];

/// Whether a search for policy sets leaves a directory below its root out
/// ([`find_sets`] here; `check`, `fmt` and `test` in the CLI): hidden
/// directories (`.git`, `.venv`), build and dependency directories
/// (`target`, `node_modules`, `__pycache__`), and any directory tagged as a
/// cache (`CACHEDIR.TAG`). The root itself is always searched: a user naming
/// `target/x` means it.
pub fn skipped_dir(dir: &Path) -> bool {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.') || BUILD_DIRS.contains(&name) || dir.join("CACHEDIR.TAG").is_file()
}

/// Every entry directly in `dir` whose name ends in `.gate`, sorted, of
/// whatever type. Entries are not filtered by type here: a dangling symlink,
/// a FIFO or a directory named `finance.gate` must reach [`read_file`] and
/// be refused there, never silently dropped (a dropped file is a dropped
/// rule, and a dropped `block` rule is a looser outcome).
fn gate_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == EXTENSION))
        .collect();
    files.sort();
    Ok(files)
}

/// Reads one policy file through [`read_file_limited`]: anything but a
/// regular file (after following symlinks) is E0001 with the path, and the
/// read never blocks (a FIFO is refused by its type, and opened
/// non-blocking).
fn read_file(path: &Path) -> Result<Arc<SourceFile>, Diagnostics> {
    match read_file_limited(path, MAX_FILE_BYTES) {
        Ok(text) => Ok(SourceFile::new(path.display().to_string(), text)),
        Err(ReadError::TooLarge { .. }) => {
            let size = std::fs::metadata(path).map_or_else(
                |_| "larger than the limit".to_owned(),
                |m| format!("{} bytes", m.len()),
            );
            Err(Diagnostic::without_span(
                Code::LimitExceeded,
                format!(
                    "`{}` is {size}; the limit for a policy file is {MAX_FILE_BYTES}",
                    path.display(),
                ),
                "split the policy into several files of one set (a directory of `.gate` files)",
            )
            .into())
        }
        Err(ReadError::NotRegular { kind, .. }) => Err(Diagnostic::without_span(
            Code::Io,
            format!(
                "cannot read `{}`: it is {kind}, not a regular file",
                path.display()
            ),
            "every `.gate` entry of a policy set must be a readable regular file (or a symlink to one); remove or rename the entry",
        )
        .into()),
        Err(ReadError::NotUtf8 { at, .. }) => {
            Err(io_error(path, &format!("not valid UTF-8 (at byte {at})")))
        }
        Err(ReadError::Io { error, .. }) => Err(io_error(path, &io_detail(path, &error))),
    }
}

/// The OS error, with the likely cause spelled out for a symlink whose
/// target is missing (the OS only says "No such file or directory", which
/// reads wrong next to a path that `ls` shows).
fn io_detail(path: &Path, error: &std::io::Error) -> String {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link && error.kind() == std::io::ErrorKind::NotFound {
        format!("it is a symbolic link whose target does not exist ({error})")
    } else if is_link {
        format!("cannot follow the symbolic link ({error})")
    } else {
        error.to_string()
    }
}

fn io_error(path: &Path, detail: &str) -> Diagnostics {
    Diagnostic::without_span(
        Code::Io,
        format!("cannot read `{}`: {detail}", path.display()),
        "check the path and that the file is readable UTF-8 text",
    )
    .into()
}
