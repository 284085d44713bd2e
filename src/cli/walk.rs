//! Directory walking for the commands that take directories (`check`, `fmt`,
//! `test`): which `.gate` files and policy sets a path names.
//!
//! The walk is the `ignore` crate's (ripgrep's walker), so it skips what a
//! project already tells its tools to skip:
//!
//! - entries matched by `.gitignore`, `.ignore`, `.git/info/exclude` and the
//!   user's global git excludes (read even outside a git repository);
//! - hidden directories (`.git`, `.venv`), as before; hidden `.gate` files
//!   directly in a set still belong to it, as [`crate::loader`] reads them;
//! - build and dependency directories (`target`, `node_modules`,
//!   `__pycache__`) and directories holding a `CACHEDIR.TAG` (other build
//!   caches), which may hold copies of policies;
//! - whatever matches an `--exclude GLOB` (gitignore syntax, relative to the
//!   path walked: `drafts` skips every entry named `drafts`, `/old` only the
//!   one at the top, `*.wip.gate` such files).
//!
//! A path given on the command line is always walked, even if a rule above
//! would skip it. Symbolic links to directories are not followed, and
//! entries that cannot be read are passed over, as before.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ignore::WalkBuilder;
use ignore::overrides::{Override, OverrideBuilder};

use crate::loader::EXTENSION;

/// The `--exclude` globs of one command, checked when parsed.
#[derive(Clone, Debug, Default)]
pub struct Excludes {
    globs: Vec<String>,
}

impl Excludes {
    /// Excludes from `--exclude` values; an invalid glob is an error that
    /// names it.
    pub fn new(globs: &[String]) -> Result<Excludes, String> {
        let excludes = Excludes {
            globs: globs.to_vec(),
        };
        excludes.matcher(Path::new("."))?;
        Ok(excludes)
    }

    /// The globs as overrides of a walk from `root`: each one an ignore rule
    /// (`!GLOB`), so everything they do not match stays in.
    fn matcher(&self, root: &Path) -> Result<Override, String> {
        let mut builder = OverrideBuilder::new(root);
        for glob in &self.globs {
            builder.add(&format!("!{glob}")).map_err(|e| match e {
                // The glob's own error, without the `!` added above.
                ignore::Error::Glob { err, .. } => format!("invalid glob `{glob}`: {err}"),
                other => format!("invalid glob `{glob}`: {other}"),
            })?;
        }
        builder.build().map_err(|e| e.to_string())
    }

    /// Every directory under `root` (itself included) that directly holds a
    /// `.gate` entry the walk keeps, sorted. A file given as `root` is its own
    /// set. Entries are not filtered by type: a directory or a dangling
    /// symlink named `x.gate` makes its directory a set, so that loading it
    /// reports the entry instead of dropping a rule.
    pub fn policy_sets(&self, root: &Path) -> Vec<PathBuf> {
        if root.is_file() {
            return vec![root.to_path_buf()];
        }
        let sets: BTreeSet<PathBuf> = self
            .gate_entries(root)
            .into_iter()
            .filter_map(|p| p.parent().map(Path::to_path_buf))
            // The root as it was given (`policies/` keeps its slash).
            .map(|dir| if dir == root { root.to_path_buf() } else { dir })
            .collect();
        sets.into_iter().collect()
    }

    /// Every regular `.gate` file (after following symlinks) under `root`
    /// that the walk keeps, sorted; `root` itself when it is a file.
    pub fn gate_files(&self, root: &Path) -> Vec<PathBuf> {
        if root.is_file() {
            return vec![root.to_path_buf()];
        }
        let mut files: Vec<PathBuf> = self
            .gate_entries(root)
            .into_iter()
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        files
    }

    /// Every entry below `root` whose name ends in `.gate` and that no rule
    /// skips.
    fn gate_entries(&self, root: &Path) -> Vec<PathBuf> {
        // `new` checked every glob; should building fail anyway, nothing is
        // excluded rather than everything (the paths are still named).
        let overrides = self.matcher(root).unwrap_or_else(|_| Override::empty());
        let walk = WalkBuilder::new(root)
            .standard_filters(true)
            // Hidden directories are skipped below; hidden files directly in
            // a set are part of it, as the loader reads them.
            .hidden(false)
            .require_git(false)
            .follow_links(false)
            .overrides(overrides)
            .filter_entry(|entry| {
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                // The loader's rule, so E0104's list and the walk agree.
                let skipped =
                    is_dir && entry.depth() > 0 && crate::loader::skipped_dir(entry.path());
                !skipped
            })
            .build();
        walk.flatten()
            .filter(|e| e.depth() > 0 && e.path().extension().is_some_and(|x| x == EXTENSION))
            .map(ignore::DirEntry::into_path)
            .collect()
    }
}

/// Parses one `--exclude` value for clap: the glob, if it is one.
pub fn parse_exclude(glob: &str) -> Result<String, String> {
    Excludes::new(&[glob.to_owned()]).map(|_| glob.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let path = dir.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        dir
    }

    fn names(root: &Path, paths: Vec<PathBuf>) -> Vec<String> {
        paths
            .iter()
            .map(|p| {
                p.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect()
    }

    #[test]
    fn sets_skip_hidden_ignored_cache_and_excluded_directories() {
        let dir = tree(&[
            "a/p.gate",
            "a/.hidden.gate",
            "b/nested/p.gate",
            ".git/x/p.gate",
            "built/p.gate",
            "target/CACHEDIR.TAG",
            "target/copy/p.gate",
            "drafts/p.gate",
            "c/drafts/p.gate",
            ".gitignore",
        ]);
        std::fs::write(dir.path().join(".gitignore"), "/built/\n").unwrap();
        let root = dir.path();
        let all = Excludes::default().policy_sets(root);
        assert_eq!(
            names(root, all),
            ["a", "b/nested", "c/drafts", "drafts"],
            "hidden, .gitignore'd and cache directories are skipped"
        );
        let excludes = Excludes::new(&["drafts".to_owned()]).unwrap();
        assert_eq!(names(root, excludes.policy_sets(root)), ["a", "b/nested"]);
        let top_only = Excludes::new(&["/drafts".to_owned()]).unwrap();
        assert_eq!(
            names(root, top_only.policy_sets(root)),
            ["a", "b/nested", "c/drafts"]
        );
    }

    #[test]
    fn files_skip_excluded_names_but_keep_hidden_files_of_a_set() {
        let dir = tree(&["a/p.gate", "a/.h.gate", "a/q.wip.gate", "a/r.txt"]);
        let root = dir.path();
        let excludes = Excludes::new(&["*.wip.gate".to_owned()]).unwrap();
        assert_eq!(
            names(root, excludes.gate_files(root)),
            ["a/.h.gate", "a/p.gate"]
        );
    }

    #[test]
    fn a_path_given_is_walked_even_when_a_rule_would_skip_it() {
        let dir = tree(&["drafts/p.gate", ".gitignore"]);
        std::fs::write(dir.path().join(".gitignore"), "drafts/\n").unwrap();
        let drafts = dir.path().join("drafts");
        let excludes = Excludes::new(&["drafts".to_owned()]).unwrap();
        let file = drafts.join("p.gate");
        assert_eq!(excludes.gate_files(&file), vec![file]);
        assert_eq!(excludes.policy_sets(&drafts), vec![drafts]);
    }

    #[test]
    fn an_invalid_glob_is_refused_with_its_text() {
        let e = parse_exclude("a[").unwrap_err();
        assert!(e.starts_with("invalid glob `a[`: "), "{e}");
        assert!(!e.contains("!a["), "{e}");
        assert_eq!(parse_exclude("drafts/**").unwrap(), "drafts/**");
    }
}
