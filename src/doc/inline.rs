//! Running text with the little markup a policy document needs. The content
//! is built once as [`Inline`] runs; each output format renders them.

use std::fmt;

/// One piece of running text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Plain words, rendered escaped.
    Text(String),
    /// A name taken from the policy (role, rule, reason code, enum value,
    /// evidence field, file), rendered as code.
    Code(String),
    /// Emphasis, for outcomes and the labels of a rule's parts.
    Strong(String),
    /// A link to a heading of the same document.
    Link {
        /// The words shown.
        text: String,
        /// The heading's anchor, without `#`.
        anchor: String,
    },
}

/// A run of [`Piece`]s: one table cell, list item, heading or paragraph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Inline(pub(crate) Vec<Piece>);

impl Inline {
    /// Plain words.
    pub(crate) fn text(s: impl Into<String>) -> Inline {
        Inline(vec![Piece::Text(s.into())])
    }

    /// A name, rendered as code.
    pub(crate) fn code(s: impl Into<String>) -> Inline {
        Inline(vec![Piece::Code(s.into())])
    }

    /// Appends plain words.
    pub(crate) fn t(mut self, s: impl Into<String>) -> Inline {
        self.push_text(s);
        self
    }

    /// Appends a name.
    pub(crate) fn c(mut self, s: impl Into<String>) -> Inline {
        self.0.push(Piece::Code(s.into()));
        self
    }

    /// Appends emphasized words.
    pub(crate) fn b(mut self, s: impl Into<String>) -> Inline {
        self.0.push(Piece::Strong(s.into()));
        self
    }

    /// Appends another run.
    pub(crate) fn then(mut self, other: Inline) -> Inline {
        self.append(other);
        self
    }

    /// Appends plain words in place, merging with a preceding text piece.
    pub(crate) fn push_text(&mut self, s: impl Into<String>) {
        let s = s.into();
        if s.is_empty() {
            return;
        }
        if let Some(Piece::Text(last)) = self.0.last_mut() {
            last.push_str(&s);
        } else {
            self.0.push(Piece::Text(s));
        }
    }

    /// Appends another run in place.
    pub(crate) fn append(&mut self, other: Inline) {
        for piece in other.0 {
            match piece {
                Piece::Text(s) => self.push_text(s),
                p => self.0.push(p),
            }
        }
    }

    /// The runs joined by `sep`.
    pub(crate) fn join(items: impl IntoIterator<Item = Inline>, sep: &str) -> Inline {
        let mut out = Inline::default();
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                out.push_text(sep);
            }
            out.append(item);
        }
        out
    }

    /// The runs as an English list: `a`, `a or b`, `a, b or c`.
    pub(crate) fn list(items: Vec<Inline>, conjunction: &str) -> Inline {
        let n = items.len();
        let mut out = Inline::default();
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                if i + 1 == n {
                    out.push_text(format!(" {conjunction} "));
                } else {
                    out.push_text(", ");
                }
            }
            out.append(item);
        }
        out
    }
}

impl fmt::Display for Inline {
    /// Plain text: names in backticks, emphasis dropped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            match p {
                Piece::Text(s) | Piece::Strong(s) => f.write_str(s)?,
                Piece::Code(s) => write!(f, "`{s}`")?,
                Piece::Link { text, .. } => f.write_str(text)?,
            }
        }
        Ok(())
    }
}
