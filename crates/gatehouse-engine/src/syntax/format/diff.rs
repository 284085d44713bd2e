//! A line diff in the unified format, for `gatehouse fmt --check`.
//!
//! Myers' O((N+M)D) algorithm on the lines between the common prefix and
//! suffix. Formatting changes are usually few; past [`MAX_EDITS`] edits the
//! whole changed middle is shown as removed and added instead.

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// Edits beyond which the diff stops looking for the shortest script.
const MAX_EDITS: usize = 2000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// Line `.0` of the old text equals line `.1` of the new.
    Equal(usize, usize),
    /// Line of the old text removed.
    Delete(usize),
    /// Line of the new text added.
    Insert(usize),
}

/// The changes from `old` to `new` as a unified diff with three lines of
/// context (`--- old_name`, `+++ new_name`, `@@ -l,n +l,n @@` hunks); empty
/// when the texts are equal. With `color`, removed lines are red and added
/// lines green.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str, color: bool) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let ops = line_ops(&a, &b);
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
    for (from, to) in hunks(&ops) {
        let slice = ops.get(from..to).unwrap_or(&[]);
        out.push_str(&paint("36", hunk_header(slice, &ops, from)));
        out.push('\n');
        for op in slice {
            let (mark, line, code) = match *op {
                Op::Equal(i, _) => (' ', a.get(i), ""),
                Op::Delete(i) => ('-', a.get(i), "31"),
                Op::Insert(j) => ('+', b.get(j), "32"),
            };
            let line = line.copied().unwrap_or("");
            let body = line.strip_suffix('\n').unwrap_or(line);
            let body = body.strip_suffix('\r').unwrap_or(body);
            let shown = format!("{mark}{body}");
            out.push_str(&if code.is_empty() {
                shown
            } else {
                paint(code, shown)
            });
            out.push('\n');
            if !line.ends_with('\n') {
                out.push_str("\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// `@@ -start,count +start,count @@` for the ops of one hunk.
fn hunk_header(slice: &[Op], all: &[Op], from: usize) -> String {
    // Lines of each side before the hunk.
    let (mut old_before, mut new_before) = (0, 0);
    for op in all.get(..from).unwrap_or(&[]) {
        match op {
            Op::Equal(..) => {
                old_before += 1;
                new_before += 1;
            }
            Op::Delete(_) => old_before += 1,
            Op::Insert(_) => new_before += 1,
        }
    }
    let old_count = slice.iter().filter(|o| !matches!(o, Op::Insert(_))).count();
    let new_count = slice.iter().filter(|o| !matches!(o, Op::Delete(_))).count();
    // An empty side is numbered by the line before it, as diff does.
    let start = |before: usize, count: usize| if count == 0 { before } else { before + 1 };
    format!(
        "@@ -{},{} +{},{} @@",
        start(old_before, old_count),
        old_count,
        start(new_before, new_count),
        new_count
    )
}

/// Ranges of ops shown together: each change with its context, ranges
/// whose context would touch merged.
fn hunks(ops: &[Op]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if matches!(op, Op::Equal(..)) {
            continue;
        }
        let from = i.saturating_sub(CONTEXT);
        let to = (i + CONTEXT + 1).min(ops.len());
        match out.last_mut() {
            Some(last) if from <= last.1 => last.1 = to,
            _ => out.push((from, to)),
        }
    }
    out
}

/// The edit script from `a` to `b`.
fn line_ops(a: &[&str], b: &[&str]) -> Vec<Op> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(a.len().min(b.len()) - prefix)
        .take_while(|(x, y)| x == y)
        .count();
    let a_mid = a.get(prefix..a.len() - suffix).unwrap_or(&[]);
    let b_mid = b.get(prefix..b.len() - suffix).unwrap_or(&[]);
    let mut ops: Vec<Op> = (0..prefix).map(|i| Op::Equal(i, i)).collect();
    let middle = shortest_edit(a_mid, b_mid).unwrap_or_else(|| {
        let deletes = (0..a_mid.len()).map(Op::Delete);
        deletes.chain((0..b_mid.len()).map(Op::Insert)).collect()
    });
    ops.extend(middle.into_iter().map(|op| match op {
        Op::Equal(i, j) => Op::Equal(i + prefix, j + prefix),
        Op::Delete(i) => Op::Delete(i + prefix),
        Op::Insert(j) => Op::Insert(j + prefix),
    }));
    let (a_end, b_end) = (a.len() - suffix, b.len() - suffix);
    ops.extend((0..suffix).map(|i| Op::Equal(a_end + i, b_end + i)));
    ops
}

/// Myers' shortest edit script, or `None` past [`MAX_EDITS`] edits.
fn shortest_edit(a: &[&str], b: &[&str]) -> Option<Vec<Op>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = n + m;
    // v[k + max]: the furthest x reached on diagonal k = x - y.
    let mut v = vec![0isize; 2 * max as usize + 2];
    let at = |k: isize| (k + max) as usize;
    // trace[d][k + d]: v after step d, for k in -d..=d.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=max {
        if d as usize > MAX_EDITS {
            return None;
        }
        let mut k = -d;
        while k <= d {
            let down = k == -d || (k != d && v.get(at(k - 1))? < v.get(at(k + 1))?);
            let mut x = if down {
                *v.get(at(k + 1))?
            } else {
                v.get(at(k - 1))? + 1
            };
            let mut y = x - k;
            while x < n && y < m && a.get(x as usize) == b.get(y as usize) {
                x += 1;
                y += 1;
            }
            *v.get_mut(at(k))? = x;
            k += 2;
        }
        trace.push(v.get(at(-d)..=at(d))?.to_vec());
        if v.get(at(n - m)).is_some_and(|x| *x >= n) && (n - m).abs() <= d {
            return backtrack(&trace, n, m);
        }
    }
    None
}

/// Walks the trace back from the end to the start.
fn backtrack(trace: &[Vec<isize>], n: isize, m: isize) -> Option<Vec<Op>> {
    let (mut x, mut y) = (n, m);
    let mut ops = Vec::new();
    for d in (1..trace.len() as isize).rev() {
        let prev = trace.get(d as usize - 1)?;
        let get = |k: isize| prev.get((k + d - 1) as usize).copied();
        let k = x - y;
        let down = k == -d || (k != d && get(k - 1)? < get(k + 1)?);
        let prev_k = if down { k + 1 } else { k - 1 };
        let prev_x = get(prev_k)?;
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            x -= 1;
            y -= 1;
            ops.push(Op::Equal(x as usize, y as usize));
        }
        if down {
            y -= 1;
            ops.push(Op::Insert(y as usize));
        } else {
            x -= 1;
            ops.push(Op::Delete(x as usize));
        }
    }
    while x > 0 && y > 0 {
        x -= 1;
        y -= 1;
        ops.push(Op::Equal(x as usize, y as usize));
    }
    ops.reverse();
    Some(ops)
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

    #[test]
    fn the_script_is_minimal() {
        let a = ["a", "b", "c", "a", "b", "b", "a"];
        let b = ["c", "b", "a", "b", "a", "c"];
        let ops = shortest_edit(&a, &b).unwrap();
        let edits = ops.iter().filter(|o| !matches!(o, Op::Equal(..))).count();
        assert_eq!(edits, 5);
    }
}
