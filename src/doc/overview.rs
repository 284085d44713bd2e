//! The top of the document: which policy this is (name, version, digest,
//! files), how its rules combine, what happens by default, and the contents.

use super::context::Ctx;
use super::document::Block;
use super::inline::{Inline, Piece};
use crate::syntax::ast::CombineMode;

/// The sections the contents list links to: anchor and title. The anchors
/// are the ones GitHub derives from the titles.
pub(crate) const SECTIONS: &[(&str, &str)] = &[
    ("approval-matrix", "Approval matrix"),
    ("rules", "Rules"),
    ("roles", "Roles"),
    ("evidence-fields", "Evidence fields"),
    ("reason-codes", "Reason codes"),
    ("input-attributes", "Input attributes"),
];

/// The title of the document.
pub(crate) fn title(cx: &Ctx<'_>) -> String {
    format!(
        "Policy {} version {}: approval matrix",
        cx.set.name, cx.set.version
    )
}

/// The title, the facts about the policy, and the contents.
pub(crate) fn blocks(cx: &Ctx<'_>) -> Vec<Block> {
    let set = cx.set;
    let mut out = vec![Block::heading(
        1,
        Inline::text("Policy ")
            .c(set.name.clone())
            .t(" version ")
            .c(set.version.clone()),
    )];
    if let Some(d) = &set.description {
        out.push(Block::Paragraph(Inline::text(d.clone())));
    }
    let files = set.files.iter().map(|f| {
        let name = f.name.rsplit(['/', '\\']).next().unwrap_or(&f.name);
        Inline::code(name)
    });
    let default = match &set.default {
        Some(d) => cx.effect(&d.effect),
        None => Inline::text("none; an action no rule matches is ")
            .b("blocked")
            .t(" with ")
            .c("NO_RULE_MATCHED"),
    };
    out.push(Block::List(vec![
        Inline::default().b("Policy:").t(" ").c(set.name.clone()),
        Inline::default()
            .b("Version:")
            .t(" ")
            .c(set.version.clone()),
        Inline::default().b("Digest:").t(" ").c(set.digest.clone()),
        Inline::default()
            .b("Files:")
            .t(" ")
            .then(Inline::join(files, ", ")),
        Inline::default()
            .b("Rules combine:")
            .t(" ")
            .then(combining(set.combine)),
        Inline::default().b("Counts:").t(format!(
            " {} tier{}, {} rule{}, {} role{}, {} evidence field{}",
            set.tiers.len(),
            plural(set.tiers.len()),
            set.rules.len(),
            plural(set.rules.len()),
            set.roles.len(),
            plural(set.roles.len()),
            set.evidence.len(),
            plural(set.evidence.len()),
        )),
        Inline::default().b("Default:").t(" ").then(default),
    ]));
    out.push(Block::Paragraph(
        Inline::text("Generated from the policy files by ")
            .c("gatehouse doc")
            .t("; do not edit by hand. Every decision made under this policy carries the digest above: a decision with another digest was made under another text of the policy."),
    ));
    out.push(Block::heading(2, Inline::text("Contents")));
    out.push(Block::List(
        SECTIONS
            .iter()
            .map(|(anchor, title)| {
                Inline(vec![Piece::Link {
                    text: (*title).to_owned(),
                    anchor: (*anchor).to_owned(),
                }])
            })
            .collect(),
    ));
    out
}

/// The combining mode in words.
pub(crate) fn combining(mode: CombineMode) -> Inline {
    match mode {
        CombineMode::Strictest => Inline::default().b("strictest").t(
            " (every matching rule counts; the action is placed in the tier with the strictest outcome, the higher number when outcomes tie, and no rule can lower what another asks for)",
        ),
        CombineMode::FirstMatch => Inline::default().b("first-match").t(
            " (rules are tried in order and only the first matching rule counts, so the order of the rules is part of the policy)",
        ),
    }
}

/// The heading of a section the contents list links to.
pub(crate) fn section_heading(anchor: &str) -> Block {
    let title = SECTIONS
        .iter()
        .find(|(a, _)| *a == anchor)
        .map_or(anchor, |(_, t)| *t);
    Block::Heading {
        level: 2,
        anchor: Some(anchor.to_owned()),
        content: Inline::text(title),
    }
}

/// `s` unless there is exactly one.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
