//! A line diff in the unified format, for `gatehouse fmt --check`.
//!
//! The edit script is the `similar` crate's (Myers' algorithm, the one GNU
//! diff and git use by default); this module only prints it, keeping the
//! hunk header's `start,count` on both sides and the optional colors.

use std::time::Duration;

use similar::{Algorithm, ChangeTag, DiffOp, TextDiff};

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// Time after which the diff stops looking for the shortest script and
/// finishes with a cheaper one (still a correct diff, maybe longer): a
/// policy file is at most [`crate::limits::MAX_FILE_BYTES`], and the
/// shortest script of two very different files of that size is quadratic.
const MAX_SEARCH: Duration = Duration::from_secs(1);

/// The changes from `old` to `new` as a unified diff with three lines of
/// context (`--- old_name`, `+++ new_name`, `@@ -l,n +l,n @@` hunks); empty
/// when the texts are equal. With `color`, removed lines are red and added
/// lines green.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str, color: bool) -> String {
    if old == new {
        return String::new();
    }
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(MAX_SEARCH)
        .diff_lines(old, new);
    let paint = |code: &str, s: String| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s
        }
    };
    let mut out = String::new();
    out.push_str(&paint("1", format!("--- {old_name}")));
    out.push('\n');
    out.push_str(&paint("1", format!("+++ {new_name}")));
    out.push('\n');
    for hunk in diff.grouped_ops(CONTEXT) {
        out.push_str(&paint("36", hunk_header(&hunk)));
        out.push('\n');
        for op in &hunk {
            for change in diff.iter_changes(op) {
                let (mark, code) = match change.tag() {
                    ChangeTag::Equal => (' ', ""),
                    ChangeTag::Delete => ('-', "31"),
                    ChangeTag::Insert => ('+', "32"),
                };
                let line = change.value();
                let body = line.strip_suffix('\n').unwrap_or(line);
                let body = body.strip_suffix('\r').unwrap_or(body);
                let shown = format!("{mark}{body}");
                out.push_str(&if code.is_empty() {
                    shown
                } else {
                    paint(code, shown)
                });
                out.push('\n');
                if change.missing_newline() {
                    out.push_str("\\ No newline at end of file\n");
                }
            }
        }
    }
    out
}

/// `@@ -start,count +start,count @@` for the ops of one hunk. The count is
/// always written (`-3,1`, where GNU diff writes `-3`): both forms are the
/// unified format, and this one is what `fmt --check` always printed.
fn hunk_header(hunk: &[DiffOp]) -> String {
    let span = |range: fn(&DiffOp) -> std::ops::Range<usize>| {
        let start = hunk.first().map_or(0, |op| range(op).start);
        let end = hunk.last().map_or(0, |op| range(op).end);
        let count = end.saturating_sub(start);
        // An empty side is numbered by the line before it, as diff does.
        let first = if count == 0 { start } else { start + 1 };
        format!("{first},{count}")
    };
    format!(
        "@@ -{} +{} @@",
        span(DiffOp::old_range),
        span(DiffOp::new_range)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified_diff("a\n", "a\n", "x", "y", false), "");
    }

    #[test]
    fn one_changed_line_with_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        let d = unified_diff(old, new, "a", "b", false);
        assert_eq!(
            d,
            "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn far_apart_changes_make_two_hunks() {
        let old: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let new = old.replace("2\n", "two\n").replace("19\n", "nineteen\n");
        let d = unified_diff(&old, &new, "a", "b", false);
        assert_eq!(d.matches("@@ -").count(), 2, "{d}");
    }

    #[test]
    fn insertions_deletions_and_a_missing_final_newline() {
        let d = unified_diff("a\nb\nc", "a\nc\nd\n", "a", "b", false);
        assert_eq!(
            d,
            "--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\n-b\n-c\n\\ No newline at end of file\n+c\n+d\n"
        );
        let d = unified_diff("", "x\n", "a", "b", false);
        assert_eq!(d, "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n");
    }

    /// Two large, entirely different files still diff (the search for the
    /// shortest script is bounded; every line is shown removed and added).
    #[test]
    fn large_unrelated_texts_diff_in_bounded_time() {
        let old: String = (0..20_000).map(|i| format!("a{i}\n")).collect();
        let new: String = (0..20_000).map(|i| format!("b{i}\n")).collect();
        let started = std::time::Instant::now();
        let d = unified_diff(&old, &new, "a", "b", false);
        assert!(started.elapsed() < Duration::from_secs(30));
        assert_eq!(d.lines().filter(|l| l.starts_with("-a")).count(), 20_000);
        assert_eq!(d.lines().filter(|l| l.starts_with("+b")).count(), 20_000);
    }

    #[test]
    fn colors_mark_removed_and_added_lines() {
        let d = unified_diff("a\n", "b\n", "x", "y", true);
        assert!(d.contains("\x1b[31m-a\x1b[0m\n"), "{d:?}");
        assert!(d.contains("\x1b[32m+b\x1b[0m\n"), "{d:?}");
    }
}
