//! The document as blocks, independent of the output format: the content
//! is decided once (in `content`), and Markdown and HTML only lay it out.

use super::inline::Inline;

/// A whole document.
#[derive(Debug)]
pub(crate) struct Document {
    /// Plain-text title (the HTML `<title>`).
    pub(crate) title: String,
    /// The body, in order.
    pub(crate) blocks: Vec<Block>,
}

/// One block of the body.
#[derive(Debug)]
pub(crate) enum Block {
    /// A heading, levels 1 to 4. Sections that the contents list links to
    /// carry an anchor, the same one GitHub derives from the Markdown.
    Heading {
        /// 1 for the title.
        level: u8,
        /// The anchor, without `#`.
        anchor: Option<String>,
        /// The words.
        content: Inline,
    },
    /// A paragraph.
    Paragraph(Inline),
    /// A bulleted list.
    List(Vec<Inline>),
    /// A table with a header row.
    Table(Table),
    /// Blocks that belong together (one rule): not split across pages when
    /// printed.
    Group(Vec<Block>),
}

/// A table: a header and rows of the same width.
#[derive(Debug)]
pub(crate) struct Table {
    /// Column titles.
    pub(crate) header: Vec<&'static str>,
    /// Cells, one `Vec` per row.
    pub(crate) rows: Vec<Vec<Inline>>,
}

impl Block {
    /// A heading without an anchor.
    pub(crate) fn heading(level: u8, content: Inline) -> Block {
        Block::Heading {
            level,
            anchor: None,
            content,
        }
    }
}
