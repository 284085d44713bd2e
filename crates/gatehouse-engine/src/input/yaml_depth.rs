//! A linear pre-scan of YAML text that bounds nesting before the YAML parser
//! sees it.
//!
//! Why: the parser (libyaml, through serde_yaml) keeps a stack of possible
//! simple keys per open flow collection and walks it for every token, so
//! 800 KB of `[` costs minutes before the depth check after parsing can
//! answer. This scan runs in one pass over the bytes with O(depth) memory
//! and refuses as soon as the nesting it has seen passes
//! [`MAX_INPUT_DEPTH`]; the parser then never sees more than that many open
//! collections.
//!
//! Invariants:
//! - flow nesting (`[`, `{` outside quoted scalars and comments) is counted
//!   exactly, so any flow document the parser would find too deep is
//!   refused here, in linear time;
//! - block nesting is counted from indentation as a *lower bound*: a new
//!   level is a sequence entry (`- `), a complex key (`? `) or a mapping key
//!   (`key:`) at a column deeper than the enclosing open level; a sequence
//!   at its parent key's own column is not counted (so the scan never
//!   refuses a document that the converter's own depth check accepts, for
//!   the documents the parser accepts);
//! - quoted scalars (`'...'`, `"..."`, across lines), comments and block
//!   scalars (`|`, `>`) never count;
//! - the count compared with the limit is block levels + flow levels, the
//!   same containers the converter counts, so the limit means the same
//!   number here and after parsing.

use super::error_at;
use crate::eval::InputError;
use crate::limits::MAX_INPUT_DEPTH;

/// Refuses YAML text whose nesting of mappings and sequences passes
/// [`MAX_INPUT_DEPTH`], in one linear pass, before it is parsed.
pub fn check_yaml_nesting(text: &str) -> Result<(), InputError> {
    let mut scan = Scan::default();
    for (number, line) in text.split('\n').enumerate() {
        scan.line(line.as_bytes(), number + 1)?;
    }
    Ok(())
}

/// What [`check_yaml_nesting`] refuses, and also every plain scalar that the
/// parser would read as a double other than the number written (see
/// `yaml_number`), up to [`MAX_NUMBER_ERRORS`] of them.
pub(super) fn prescan(text: &str) -> Result<(), Vec<InputError>> {
    let mut scan = Scan {
        numbers: Some(Vec::new()),
        ..Scan::default()
    };
    for (number, line) in text.split('\n').enumerate() {
        scan.line(line.as_bytes(), number + 1)
            .map_err(|e| vec![e])?;
    }
    match scan.numbers {
        Some(errors) if !errors.is_empty() => Err(errors),
        _ => Ok(()),
    }
}

/// Most inexact numbers reported for one document.
const MAX_NUMBER_ERRORS: usize = 100;

#[derive(Default)]
struct Scan {
    /// Columns of the open block collections, innermost last; strictly
    /// increasing. Never longer than the limit + 1.
    block: Vec<usize>,
    /// Open flow collections.
    flow: usize,
    /// Inside a quoted scalar that started on an earlier line or column.
    quote: Option<u8>,
    /// Lines more indented than this (and blank lines) are the content of a
    /// block scalar.
    block_scalar: Option<usize>,
    /// The next token starts a node (so `[`, `{`, a quote or `- ` are
    /// indicators there, and plain text otherwise).
    at_node: bool,
    /// The column where the current scalar started (a key, if `:` follows).
    scalar_col: usize,
    /// The first block collection of this line has yet to be placed
    /// against the open ones.
    line_first: bool,
    /// The last token was a plain scalar: in block context, a following
    /// line indented deeper than the open level continues it (so a `[` or
    /// `- ` there is text, not an indicator).
    in_plain: bool,
    /// The last token was a quoted scalar: in flow context a `:` right
    /// after it is a value indicator even without a following space (the
    /// JSON form `{"a":"b"}`), as the parser reads it.
    after_quote: bool,
    /// When checking numbers: the inexact ones found so far.
    numbers: Option<Vec<InputError>>,
}

fn is_space(b: Option<&u8>) -> bool {
    matches!(b, None | Some(b' ' | b'\t' | b'\r'))
}

fn is_flow_indicator(b: Option<&u8>) -> bool {
    matches!(b, Some(b',' | b'[' | b']' | b'{' | b'}'))
}

impl Scan {
    fn line(&mut self, line: &[u8], number: usize) -> Result<(), InputError> {
        let indent = line.iter().take_while(|b| **b == b' ').count();
        let blank = line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'));
        if let Some(parent) = self.block_scalar {
            if blank || indent > parent {
                return Ok(());
            }
            self.block_scalar = None;
        }
        let mut i = 0;
        let block_start = self.quote.is_none() && self.flow == 0;
        let open_level = self
            .block
            .last()
            .map_or(-1, |c| i64::try_from(*c).unwrap_or(i64::MAX));
        if block_start && !blank && self.in_plain && i64::try_from(indent).unwrap_or(0) > open_level
        {
            // A continuation line of a multi-line plain scalar.
            self.at_node = false;
            self.scalar_col = indent;
            self.line_first = false;
        } else if block_start {
            if blank {
                // A blank line may sit inside a multi-line plain scalar.
                return Ok(());
            }
            self.in_plain = false;
            if line.get(indent) == Some(&b'#') || line.first() == Some(&b'%') {
                return Ok(());
            }
            let marker = line.get(..3);
            if (marker == Some(b"---") || marker == Some(b"...")) && is_space(line.get(3)) {
                // A document boundary closes every open collection.
                self.block.clear();
                i = 3;
            } else {
                // Every content line in block context closes the levels
                // indented deeper than itself (popping more can only lower
                // the count).
                while self.block.last().is_some_and(|top| *top > indent) {
                    self.block.pop();
                }
                i = indent;
            }
            self.at_node = true;
            self.line_first = true;
        }
        // A line break separates tokens, so a `#` right after it starts a
        // comment.
        let mut after_space = true;
        while let Some(&c) = line.get(i) {
            if let Some(q) = self.quote {
                i += self.in_quote(q, c, line.get(i + 1));
                self.after_quote = self.quote.is_none();
                continue;
            }
            if matches!(c, b' ' | b'\t' | b'\r') {
                after_space = true;
                i += 1;
                continue;
            }
            if c == b'#' && after_space {
                break;
            }
            after_space = false;
            let after_quote = std::mem::take(&mut self.after_quote);
            let next = line.get(i + 1);
            if self.at_node {
                match c {
                    b'-' | b'?' if is_space(next) => {
                        if self.flow == 0 {
                            self.container(i, number)?;
                        }
                    }
                    b':' if is_space(next) => {}
                    b'[' | b'{' => self.open_flow(i, number)?,
                    b']' | b'}' => self.close_flow(),
                    b',' if self.flow > 0 => {}
                    b'\'' | b'"' => {
                        self.in_plain = false;
                        self.quote = Some(c);
                        self.scalar_col = i;
                        self.at_node = false;
                    }
                    b'|' | b'>' if self.flow == 0 => {
                        // The content is the following lines indented
                        // deeper than this line's own indentation.
                        self.block_scalar = Some(line.iter().take_while(|b| **b == b' ').count());
                        return Ok(());
                    }
                    b'*' => {
                        // An alias repeats a node that serde_yaml expands in
                        // full: a 5 MB file of aliases to one approval became
                        // 2 GB in memory. Inputs, approvals and suites are
                        // written out; an alias is refused up front.
                        return Err(error_at(
                            "$",
                            format!(
                                "a YAML alias (`*...`) at line {number} column {}: gatehouse reads YAML without aliases, since each one repeats a whole node; write the value out",
                                i + 1
                            ),
                        ));
                    }
                    b'&' | b'!' => {
                        // An anchor or tag precedes a node.
                        while line.get(i + 1).is_some_and(|b| {
                            !(is_space(Some(b)) || (self.flow > 0 && is_flow_indicator(Some(b))))
                        }) {
                            i += 1;
                        }
                        self.at_node = true;
                        self.in_plain = false;
                    }
                    _ => {
                        self.scalar_col = i;
                        self.at_node = false;
                        self.in_plain = true;
                        self.plain_number(line, i, number);
                    }
                }
            } else {
                match c {
                    b':' if is_space(next)
                        || (self.flow > 0 && (after_quote || is_flow_indicator(next))) =>
                    {
                        if self.flow == 0 {
                            self.container(self.scalar_col, number)?;
                        }
                        self.at_node = true;
                        self.in_plain = false;
                    }
                    // Inside flow collections these are indicators even
                    // right after a plain scalar.
                    b',' if self.flow > 0 => {
                        self.at_node = true;
                        self.in_plain = false;
                    }
                    b'[' | b'{' if self.flow > 0 => self.open_flow(i, number)?,
                    b']' | b'}' if self.flow > 0 => self.close_flow(),
                    _ => {}
                }
            }
            i += 1;
        }
        Ok(())
    }

    /// When the plain scalar starting at `start` is a lone number token, checks
    /// that the parser reads it as the number written.
    fn plain_number(&mut self, line: &[u8], start: usize, number: usize) {
        let Some(errors) = self.numbers.as_mut() else {
            return;
        };
        if errors.len() >= MAX_NUMBER_ERRORS {
            return;
        }
        let rest = line.get(start..).unwrap_or_default();
        let len = rest
            .iter()
            .take_while(|b| matches!(b, b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E'))
            .count();
        let after = rest.get(len..).unwrap_or_default();
        let tail = after
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\r'));
        // The scalar must end with the token: end of line, a comment, or
        // (in flow context) the end of the entry. Text after it, or a `:`
        // (a key), makes it something else.
        let ends = match tail.and_then(|t| after.get(t)) {
            None => true,
            Some(b'#') => tail != Some(0),
            Some(b',' | b']' | b'}') => self.flow > 0,
            Some(_) => false,
        };
        if len == 0 || !ends {
            return;
        }
        let Some(text) = rest.get(..len).and_then(|t| std::str::from_utf8(t).ok()) else {
            return;
        };
        if let Some(why) = super::yaml_number::inexact(text) {
            errors.push(error_at(
                "$",
                format!("line {number} column {}: {why}", start + 1),
            ));
        }
    }

    /// Consumes one byte (or an escape pair) inside a quoted scalar and
    /// returns how many bytes it took.
    fn in_quote(&mut self, quote: u8, c: u8, next: Option<&u8>) -> usize {
        match (quote, c) {
            (b'"', b'\\') => 2,
            (b'\'', b'\'') if next == Some(&b'\'') => 2,
            (q, c) if q == c => {
                self.quote = None;
                1
            }
            _ => 1,
        }
    }

    fn open_flow(&mut self, col: usize, line: usize) -> Result<(), InputError> {
        self.flow += 1;
        self.in_plain = false;
        self.at_node = true;
        self.check(col, line)
    }

    fn close_flow(&mut self) {
        self.flow = self.flow.saturating_sub(1);
        self.at_node = false;
        self.in_plain = false;
    }

    /// A block collection (sequence entry, complex key or mapping key)
    /// starts at `col`.
    fn container(&mut self, col: usize, line: usize) -> Result<(), InputError> {
        if std::mem::take(&mut self.line_first) {
            while self.block.last().is_some_and(|top| *top > col) {
                self.block.pop();
            }
        }
        if self.block.last().is_none_or(|top| *top < col) {
            self.block.push(col);
        }
        self.check(col, line)
    }

    fn check(&self, col: usize, line: usize) -> Result<(), InputError> {
        if self.block.len() + self.flow <= MAX_INPUT_DEPTH {
            return Ok(());
        }
        Err(error_at(
            "$",
            format!(
                "nested more than {MAX_INPUT_DEPTH} levels deep (mappings and sequences), at line {line} column {}",
                col + 1
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> bool {
        check_yaml_nesting(text).is_err()
    }

    fn nested_block_mappings(levels: usize) -> String {
        (0..levels)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect::<String>()
            + &" ".repeat(levels)
            + "leaf: 1\n"
    }

    #[test]
    fn counts_flow_collections_exactly() {
        let at_limit = format!(
            "{}1{}",
            "[".repeat(MAX_INPUT_DEPTH),
            "]".repeat(MAX_INPUT_DEPTH)
        );
        assert!(!refused(&at_limit));
        assert!(refused(&format!("[{at_limit}]")));
        // The enclosing block mapping counts too, as the converter counts it.
        assert!(refused(&format!("x: {at_limit}\n")));
        let mixed = "[{a: ".repeat(40);
        assert!(refused(&mixed));
        let e = check_yaml_nesting(&mixed).unwrap_err();
        assert_eq!(e.path, "$");
        assert!(e.message.contains("nested more than 64 levels deep"), "{e}");
    }

    #[test]
    fn quoted_scalars_comments_and_block_scalars_do_not_count() {
        let brackets = "[".repeat(10_000);
        for text in [
            format!("x: \"{brackets}\"\n"),
            format!("x: '{brackets}'\n"),
            format!("x: \"a\\\"{brackets}\"\n"),
            format!("x: 'it''s {brackets}'\n"),
            format!("x: \"multi\n  line {brackets}\"\n"),
            format!("x: 1 # {brackets}\n"),
            format!("# {brackets}\nx: 1\n"),
            format!("x: |\n  {brackets}\n  - - - -\ny: 1\n"),
            format!("x: a{brackets}\n"),
            format!("x: plain\n  continued {brackets}\n"),
        ] {
            assert!(!refused(&text), "{}", &text[..40.min(text.len())]);
        }
    }

    #[test]
    fn aliases_are_refused_and_look_alikes_are_not() {
        assert!(refused("a: &x 1\nb: *x\n"));
        assert!(refused("- &t token\n- *t\n"));
        assert!(refused("[&a 1, *a]"));
        // An asterisk inside a scalar, quoted or plain, is text.
        assert!(!refused("a: 2*3\nb: '*x'\nc: \"*y\"\nd: x *y\n"));
        assert!(!refused("# *comment\na: 1\n"));
    }

    #[test]
    fn counts_block_nesting() {
        assert!(!refused(&nested_block_mappings(MAX_INPUT_DEPTH - 1)));
        assert!(refused(&nested_block_mappings(MAX_INPUT_DEPTH + 1)));
        let dashes = format!("{}x\n", "- ".repeat(MAX_INPUT_DEPTH + 1));
        assert!(refused(&dashes));
        let dashes = format!("{}x\n", "- ".repeat(MAX_INPUT_DEPTH));
        assert!(!refused(&dashes));
        // Siblings and dedents close levels: many shallow entries are fine.
        let wide = "a:\n  b:\n    c: 1\nd:\n  - e: 1\n  - f: [1, {g: 2}]\n".repeat(1_000);
        assert!(!refused(&wide));
    }
}
