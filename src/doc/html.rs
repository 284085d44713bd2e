//! The document as one self-contained HTML file: the style sheet is inline,
//! nothing is fetched (no scripts, fonts, images or links to other pages),
//! and it prints well (tables repeat their header on each page, a rule is
//! not split across pages, no screen colours on paper).

use std::fmt::Write as _;

use super::document::{Block, Document, Table};
use super::inline::{Inline, Piece};

const STYLE: &str = r#"
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1b1f24;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 76rem; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
h1 { font-size: 1.8rem; margin: 0 0 .75rem; }
h2 { font-size: 1.4rem; margin: 2.5rem 0 .75rem; padding-bottom: .25rem; border-bottom: 2px solid #d0d7de; }
h3 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
h4 { font-size: 1rem; margin: 1rem 0 .25rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em;
  background: #f1f3f5; padding: .05em .3em; border-radius: 3px; overflow-wrap: anywhere; }
a { color: #0b57d0; }
.table { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: .75rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #c9d1d9; padding: .4rem .55rem; text-align: left; vertical-align: top; }
th { background: #f1f3f5; }
tbody tr:nth-child(even) td { background: #fafbfc; }
section.rule { border-left: 3px solid #d0d7de; padding: .1rem 0 .1rem .9rem; margin: 1rem 0; }
section.rule ul { list-style: none; padding-left: 0; margin: .25rem 0; }
@page { margin: 1.5cm 1.3cm; }
@media print {
  body { font-size: 9.5pt; }
  main { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  code, th, tbody tr:nth-child(even) td { background: none; }
  code { padding: 0; }
  .table { overflow: visible; }
  thead { display: table-header-group; }
  tr, section.rule { break-inside: avoid; page-break-inside: avoid; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
}
"#;

/// Renders the whole document as one HTML file.
pub(crate) fn render(doc: &Document) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"generator\" content=\"gatehouse doc\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&doc.title));
    let _ = writeln!(out, "<style>{STYLE}</style>");
    out.push_str("</head>\n<body>\n<main>\n");
    for b in &doc.blocks {
        block(&mut out, b);
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn block(out: &mut String, b: &Block) {
    match b {
        Block::Heading {
            level,
            anchor,
            content,
        } => {
            let level = (*level).clamp(1, 6);
            let id = anchor
                .as_ref()
                .map(|a| format!(" id=\"{}\"", escape(a)))
                .unwrap_or_default();
            let _ = writeln!(out, "<h{level}{id}>{}</h{level}>", inline(content));
        }
        Block::Paragraph(content) => {
            let _ = writeln!(out, "<p>{}</p>", inline(content));
        }
        Block::List(items) => {
            out.push_str("<ul>\n");
            for item in items {
                let _ = writeln!(out, "<li>{}</li>", inline(item));
            }
            out.push_str("</ul>\n");
        }
        Block::Table(t) => table(out, t),
        Block::Group(blocks) => {
            out.push_str("<section class=\"rule\">\n");
            for b in blocks {
                block(out, b);
            }
            out.push_str("</section>\n");
        }
    }
}

fn table(out: &mut String, t: &Table) {
    out.push_str("<div class=\"table\">\n<table>\n<thead>\n<tr>");
    for h in &t.header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n</thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", inline(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
}

fn inline(content: &Inline) -> String {
    let mut out = String::new();
    for p in &content.0 {
        match p {
            Piece::Text(s) => out.push_str(&escape(s)),
            Piece::Code(s) => {
                let _ = write!(out, "<code>{}</code>", escape(s));
            }
            Piece::Strong(s) => {
                let _ = write!(out, "<strong>{}</strong>", escape(s));
            }
            Piece::Link { text, anchor } => {
                let _ = write!(out, "<a href=\"#{}\">{}</a>", escape(anchor), escape(text));
            }
        }
    }
    out
}

/// Escapes text for HTML content and attribute values: `&`, `<`, `>`, `"`
/// and `'` become character references, so no policy text can open a tag
/// or leave an attribute.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_neutralizes_markup_and_attribute_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain words, é ✓"), "plain words, é ✓");
    }
}
