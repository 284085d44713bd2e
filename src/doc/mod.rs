//! A checked policy set rendered as a document for auditors and business
//! owners (`gatehouse doc`): the approval matrix (one row per tier), the
//! rules grouped by the tier they place an action in with their conditions
//! in plain words, the default, the roles, evidence fields, reason codes
//! and input attributes, and the policy's name, version and digest.
//!
//! The content is built once, format-independent; [`DocFormat`] only picks
//! the layout. The output depends on the policy text alone (no time, no
//! directory), so the same policy always gives the same bytes.
//!
//! ```
//! use gatehouse::Policy;
//! use gatehouse_cli::doc::{DocFormat, render};
//!
//! let policy = Policy::from_source("refunds.gate", r#"
//!     policy "refunds" version "1"
//!     schema { action.type: enum { read, refund }  action.amount: number? }
//!     role support_lead
//!     reason LARGE_REFUND "refund above 1000"
//!     tier 0 "no effect" { outcome auto }
//!     tier 3 "financial" { outcome explicit  approve support_lead }
//!     rule large_refund when action.type == refund and action.amount > 1000
//!       then tier 3 because LARGE_REFUND
//!     default tier 0
//! "#).expect("the policy compiles");
//!
//! let markdown = render(policy.checked(), DocFormat::Markdown);
//! assert!(markdown.contains(
//!     "the action type is `refund` and the action amount is more than 1000"
//! ));
//! assert!(markdown.contains(policy.digest()));
//! ```

mod context;
mod document;
mod glossary;
mod html;
mod inline;
mod markdown;
mod matrix;
mod overview;
mod rules;
mod words;

use crate::check::{Cond, PolicySet};

/// The layout of a rendered document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DocFormat {
    /// GitHub-flavoured Markdown, for the repository next to the policy.
    Markdown,
    /// One self-contained HTML file (inline style sheet, nothing fetched)
    /// that prints well.
    Html,
}

impl DocFormat {
    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            DocFormat::Markdown => "md",
            DocFormat::Html => "html",
        }
    }

    /// The format a file name's extension implies (`.md`, `.markdown`,
    /// `.html`, `.htm`), if any.
    pub fn from_extension(ext: &str) -> Option<DocFormat> {
        match ext.to_ascii_lowercase().as_str() {
            "md" | "markdown" => Some(DocFormat::Markdown),
            "html" | "htm" => Some(DocFormat::Html),
            _ => None,
        }
    }
}

/// Renders a checked policy set (`Policy::checked()`) as a document.
pub fn render(set: &PolicySet, format: DocFormat) -> String {
    let cx = context::Ctx::new(set);
    let mut blocks = overview::blocks(&cx);
    blocks.extend(matrix::blocks(&cx));
    blocks.extend(rules::blocks(&cx));
    blocks.extend(glossary::blocks(&cx));
    let doc = document::Document {
        title: overview::title(&cx),
        blocks,
    };
    match format {
        DocFormat::Markdown => markdown::render(&doc),
        DocFormat::Html => html::render(&doc),
    }
}

/// A condition of `set` in plain words, as the document writes it (names
/// of values in backticks): `action.amount > 1000` is "the action amount
/// is more than 1000". Total: every condition gets words, never a panic.
pub fn condition_in_words(set: &PolicySet, condition: &Cond) -> String {
    words::Words::new(set).condition(condition).to_string()
}
