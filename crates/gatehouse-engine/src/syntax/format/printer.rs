//! Declarations -> [`Doc`]: the canonical layout of each construct, with the
//! comments the [`Cursor`] hands out placed around them.

use super::comments::{Comment, Cursor, Trivia};
use super::doc::{Doc, concat, group, nest, text};
use super::expr::first_test_start;
use crate::syntax::ast::*;

/// Builds the layout of one file. Walks the tree in source order and asks the
/// cursor, at each place a comment may go, for the comments before it.
pub(super) struct Printer<'a> {
    pub(super) trivia: &'a Trivia<'a>,
    pub(super) cursor: Cursor,
}

/// Lines of one block (the file, a schema, a tier, a rule): items separated by
/// line breaks, with at most one blank line kept where the source had one.
#[derive(Default)]
pub(super) struct Block {
    docs: Vec<Doc>,
}

impl Block {
    /// Adds a line; `blank` asks for an empty line before it (never before
    /// the first line of a block).
    pub(super) fn line(&mut self, doc: Doc, blank: bool) {
        if !self.docs.is_empty() {
            self.docs.push(Doc::HardLine);
            if blank {
                self.docs.push(Doc::HardLine);
            }
        }
        self.docs.push(doc);
    }

    /// Comments on lines of their own; `keep_blank` keeps the blank lines
    /// before them.
    pub(super) fn comments(&mut self, comments: Vec<Comment>, keep_blank: bool) {
        for c in comments {
            let blank = keep_blank && c.blank_before;
            self.line(text(c.text), blank);
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub(super) fn into_doc(self) -> Doc {
        concat(self.docs)
    }
}

/// Comments that end the current line.
pub(super) fn suffixes(comments: Vec<Comment>) -> Doc {
    concat(comments.into_iter().map(|c| Doc::Suffix(c.text)).collect())
}

/// Splits comments that all want to end one line: only one can (the last,
/// nearest its end); the others go on lines of their own above it.
pub(super) fn line_end(mut comments: Vec<Comment>) -> (Vec<Comment>, Doc) {
    let last = comments.pop();
    (comments, suffixes(last.into_iter().collect()))
}

/// Comments on lines of their own, each followed by a line break.
pub(super) fn own_lines(comments: Vec<Comment>) -> Vec<Doc> {
    let mut docs = Vec::new();
    for c in comments {
        docs.push(text(c.text));
        docs.push(Doc::HardLine);
    }
    docs
}

/// Where one item of a block sits in the source.
#[derive(Clone, Copy)]
pub(super) struct Place {
    /// Its first character.
    pub start: usize,
    /// Just past its last character.
    pub end: usize,
    /// Where the next item (or the block's closing) starts: comments that
    /// end the item's last line lie before it.
    pub bound: usize,
}

impl Printer<'_> {
    /// The whole file.
    pub(super) fn file(&mut self, file: &File, len: usize) -> Doc {
        let places = self.declaration_places(&file.declarations, len);
        let mut block = Block::default();
        for (decl, place) in file.declarations.iter().zip(places) {
            self.item(&mut block, place, true, |p| p.declaration(decl, place));
        }
        let rest = self.cursor.rest();
        block.comments(rest, true);
        block.into_doc()
    }

    /// One line item of a block: the comments on lines of their own before
    /// it, the item, and the comments ending its last line. Comments left
    /// inside the item after `build` placed its own move out of it: those on
    /// a line of their own above it, those ending a line to the end of its
    /// last line.
    pub(super) fn item(
        &mut self,
        block: &mut Block,
        place: Place,
        keep_blank: bool,
        build: impl FnOnce(&mut Self) -> Doc,
    ) {
        let before = self.cursor.before(place.start);
        block.comments(before, keep_blank);
        let doc = build(self);
        let (mut ending, mut above): (Vec<Comment>, Vec<Comment>) = self
            .cursor
            .before(place.end)
            .into_iter()
            .partition(|c| c.trailing);
        ending.extend(self.cursor.trailing(place.bound));
        let (extra, suffix) = line_end(ending);
        above.extend(extra);
        let mut blank = keep_blank && self.trivia.blank_before(place.start);
        for c in above {
            block.line(text(c.text), blank);
            blank = false;
        }
        block.line(concat(vec![doc, suffix]), blank);
    }

    /// Start and end of each declaration. Schema and evidence blocks carry
    /// no span in the tree: they start at the first code after the previous
    /// declaration and end at their closing brace.
    fn declaration_places(&self, decls: &[Declaration], len: usize) -> Vec<Place> {
        let mut out: Vec<Place> = Vec::with_capacity(decls.len());
        let mut prev_end = 0;
        for d in decls {
            let start = match d {
                Declaration::Header(h) => h.span.start,
                Declaration::Role(r) => r.span.start,
                Declaration::Reason(r) => r.span.start,
                Declaration::Tier(t) => t.span.start,
                Declaration::Rule(r) => r.span.start,
                Declaration::Default(d) => d.span.start,
                Declaration::Schema(_) | Declaration::Evidence(_) => {
                    self.trivia.next_code(prev_end)
                }
            };
            let end = match d {
                Declaration::Header(h) => self.tight_end(h.span.end),
                Declaration::Role(r) => self.tight_end(r.span.end),
                Declaration::Reason(r) => self.tight_end(r.span.end),
                Declaration::Tier(t) => self.tight_end(t.span.end),
                Declaration::Rule(r) => self.tight_end(r.span.end),
                Declaration::Default(d) => self.tight_end(d.span.end),
                Declaration::Schema(attrs) => {
                    let after_open = match attrs.last() {
                        Some(a) => self.tight_end(a.span.end),
                        None => self.trivia.next_code(start + "schema".len()) + 1,
                    };
                    self.trivia.next_code(after_open) + 1
                }
                Declaration::Evidence(names) => {
                    let last = names.last().map_or(start, |n| n.span.end);
                    self.close_after_list(last) + 1
                }
            };
            if let Some(prev) = out.last_mut() {
                prev.bound = start;
            }
            out.push(Place {
                start,
                end,
                bound: len,
            });
            prev_end = end;
        }
        out
    }

    /// The end of a span without the whitespace and comments pest may have
    /// included after its last token.
    pub(super) fn tight_end(&self, end: usize) -> usize {
        self.trivia.code_end_before(end)
    }

    /// The closing brace after the last name of a comma-separated list in
    /// braces, which may end with a comma.
    pub(super) fn close_after_list(&self, last_end: usize) -> usize {
        let next = self.trivia.next_code(last_end);
        if self.trivia.char_at(next) == Some(',') {
            self.trivia.next_code(next + 1)
        } else {
            next
        }
    }

    fn declaration(&mut self, decl: &Declaration, place: Place) -> Doc {
        match decl {
            Declaration::Header(h) => self.header(h),
            Declaration::Schema(attrs) => self.schema(attrs, place),
            Declaration::Evidence(names) => {
                let open = self.trivia.next_code(place.start + "evidence".len());
                let mut docs = self.hoist(open + 1);
                docs.push(text("evidence "));
                docs.push(self.braced_names(names, place.end.saturating_sub(1)));
                concat(docs)
            }
            Declaration::Role(r) => self.role(r),
            Declaration::Reason(r) => text(format!(
                "reason {} {}",
                r.code.name,
                quote(&r.message.value)
            )),
            Declaration::Tier(t) => self.tier(t, place),
            Declaration::Rule(r) => self.rule(r),
            Declaration::Default(d) => self.default(d),
        }
    }

    /// Comments before `pos` on lines of their own, each followed by a line
    /// break: they go above the line being started.
    fn hoist(&mut self, pos: usize) -> Vec<Doc> {
        let before = self.cursor.before(pos);
        own_lines(before)
    }

    /// The comments ending the line that ends before `bound`: the doc ending
    /// the line, and the comments that go above it.
    fn ending(&mut self, bound: usize) -> (Vec<Doc>, Doc) {
        let (extra, suffix) = line_end(self.cursor.trailing(bound));
        (own_lines(extra), suffix)
    }

    /// ```text
    /// policy "NAME" version "VERSION"
    ///   combine MODE
    ///   description "TEXT"
    /// ```
    fn header(&mut self, h: &Header) -> Doc {
        let mut docs = self.hoist(h.version.span.end);
        let combine_at = h
            .combine
            .map(|(_, span)| self.keyword_before(span.start, "combine"));
        let description_at = h
            .description
            .as_ref()
            .map(|d| self.keyword_before(d.span.start, "description"));
        let (above, suffix) = match combine_at.or(description_at) {
            Some(bound) => self.ending(bound),
            None => (Vec::new(), concat(Vec::new())),
        };
        docs.extend(above);
        docs.push(text(format!(
            "policy {} version {}",
            quote(&h.name.value),
            quote(&h.version.value)
        )));
        docs.push(suffix);
        let mut lines = Block::default();
        if let Some((mode, span)) = h.combine {
            lines.comments(self.cursor.before(span.start), false);
            let (above, suffix) = match description_at {
                Some(bound) => line_end(self.cursor.trailing(bound)),
                None => (Vec::new(), concat(Vec::new())),
            };
            lines.comments(above, false);
            let keyword = match mode {
                CombineMode::Strictest => "combine strictest",
                CombineMode::FirstMatch => "combine first-match",
            };
            lines.line(concat(vec![text(keyword), suffix]), false);
        }
        if let Some(d) = &h.description {
            lines.comments(self.cursor.before(d.span.start), false);
            lines.line(text(format!("description {}", quote(&d.value))), false);
        }
        if !lines.is_empty() {
            docs.push(nest(concat(vec![Doc::HardLine, lines.into_doc()])));
        }
        concat(docs)
    }

    /// `schema {`, one attribute per line, `}`. A schema of one attribute,
    /// with no comment inside, is one line when it fits: `schema { a: bool }`
    /// (the form of the short examples in the docs). Like a one-line tier,
    /// the choice depends on the tree and the comments only.
    fn schema(&mut self, attrs: &[Attribute], place: Place) -> Doc {
        let open = self.trivia.next_code(place.start + "schema".len());
        let close = place.end.saturating_sub(1);
        let mut docs = self.hoist(open + 1);
        if let [only] = attrs
            && !self.cursor.pending_before(close)
        {
            let attribute = self.attribute(only);
            let line = concat(vec![text("schema { "), attribute, text(" }")]);
            if let Some(line) = super::doc::one_line(&line) {
                docs.push(text(line));
                return concat(docs);
            }
        }
        let first = attrs.first().map_or(close, |a| a.span.start);
        let (above, after_open) = line_end(self.cursor.trailing(first));
        docs.extend(own_lines(above));
        docs.push(text("schema {"));
        let mut block = Block::default();
        for (i, a) in attrs.iter().enumerate() {
            let place = Place {
                start: a.span.start,
                end: self.tight_end(a.span.end),
                bound: attrs.get(i + 1).map_or(close, |n| n.span.start),
            };
            self.item(&mut block, place, true, |p| p.attribute(a));
        }
        block.comments(self.cursor.before(close), true);
        close_block(docs, after_open, block)
    }

    fn attribute(&mut self, a: &Attribute) -> Doc {
        let ty = self.type_expr(&a.ty);
        let optional = if a.optional { "?" } else { "" };
        concat(vec![text(format!("{}: ", a.path.name)), ty, text(optional)])
    }

    fn type_expr(&mut self, ty: &TypeExpr) -> Doc {
        match ty {
            TypeExpr::Bool => text("bool"),
            TypeExpr::Number => text("number"),
            TypeExpr::String => text("string"),
            TypeExpr::Duration => text("duration"),
            TypeExpr::Timestamp => text("timestamp"),
            TypeExpr::Enum(values) => {
                let close = values
                    .last()
                    .map_or(0, |v| self.close_after_list(v.span.end));
                concat(vec![text("enum "), self.braced_names(values, close)])
            }
            TypeExpr::Set(element, _) => concat(vec![text("set of "), self.type_expr(element)]),
        }
    }

    /// `{ a, b, c }` on one line when it fits and holds no comment;
    /// otherwise one indented line per group of names, filled to the width,
    /// each line ending with a comma.
    fn braced_names(&mut self, names: &[Ident], close: usize) -> Doc {
        let items = names
            .iter()
            .map(|n| (n.span.start, text(n.name.clone())))
            .collect();
        let (parts, _) = self.comma_list(items, Some(close), true);
        let mut inside = vec![Doc::Line, Doc::Fill(parts), Doc::IfBreak(",")];
        for c in self.cursor.before(close) {
            inside.push(Doc::HardLine);
            inside.push(text(c.text));
        }
        group(concat(vec![
            text("{"),
            nest(concat(inside)),
            Doc::Line,
            text("}"),
        ]))
    }

    /// The parts of a [`Doc::Fill`] for a comma-separated list, with the
    /// comments between its items: a comment ending an item's line forces a
    /// break after it, comments on lines of their own stay on lines of their
    /// own. The comments that belong above the first item go there when the
    /// list starts a line (`first_on_own_line`); otherwise they are returned,
    /// for the caller to put above the line the list is on. Comments after
    /// the last item are taken only up to `end` (when given).
    pub(super) fn comma_list(
        &mut self,
        items: Vec<(usize, Doc)>,
        end: Option<usize>,
        first_on_own_line: bool,
    ) -> (Vec<Doc>, Vec<Comment>) {
        let mut above_list = Vec::new();
        let starts: Vec<usize> = items.iter().map(|(s, _)| *s).collect();
        let mut parts = Vec::new();
        let mut break_next = false;
        for (i, (start, doc)) in items.into_iter().enumerate() {
            let before = self.cursor.before(start);
            let bound = starts.get(i + 1).copied().or(end);
            let after = bound.map(|b| self.cursor.trailing(b)).unwrap_or_default();
            let ends_line = !after.is_empty();
            let (extra, suffix) = line_end(after);
            // Comments before the item, and those ending its line beyond the
            // one that stays there, go on lines of their own above it.
            let above: Vec<Comment> = before.into_iter().chain(extra).collect();
            let mut content = Vec::new();
            if i > 0 || first_on_own_line {
                if i > 0 {
                    let line = if break_next || !above.is_empty() {
                        Doc::HardLine
                    } else {
                        Doc::Line
                    };
                    parts.push(concat(vec![text(","), line]));
                }
                content.extend(own_lines(above));
            } else {
                above_list = above;
            }
            content.push(doc);
            content.push(suffix);
            break_next = ends_line;
            parts.push(concat(content));
        }
        (parts, above_list)
    }

    /// `role NAME "TITLE" limit PATH <= N escalate to ROLE`, the limit and
    /// the escalation on lines of their own when it is too long.
    ///
    /// A comment between the parts keeps them on lines of their own.
    fn role(&mut self, r: &Role) -> Doc {
        let mut head = format!("role {}", r.name.name);
        if let Some(t) = &r.title {
            head.push(' ');
            head.push_str(&quote(&t.value));
        }
        let mut parts = Vec::new();
        if let Some(l) = &r.limit {
            let op = if l.inclusive { "<=" } else { "<" };
            let limit = format!(
                "limit {} {op} {}",
                l.attribute.name,
                super::expr::number(&l.value)
            );
            parts.push((l.span.start, limit));
        }
        if let Some(e) = &r.escalate {
            parts.push((e.span.start, format!("escalate to {}", e.name)));
        }
        let mut docs = vec![text(head)];
        for (start, part) in &parts {
            // Comments ending the line before go above this part: only one
            // of them can stay at its end.
            let (above, suffix) = self.ending(*start);
            docs.push(suffix);
            let mut line = vec![Doc::Line];
            line.extend(above);
            line.extend(self.hoist(*start));
            line.push(text(part.clone()));
            docs.push(nest(concat(line)));
        }
        group(concat(docs))
    }

    /// `tier N "NAME" {`, one clause per line with the keywords padded so
    /// the values line up, `}`. A tier whose only clause is its outcome, with
    /// no comment inside, is one line when it fits: `tier 0 "none" { outcome
    /// auto }` (the form the docs and most policies write for a tier that
    /// asks for nothing). The choice depends on the tree and the comments
    /// only, so formatting stays idempotent.
    fn tier(&mut self, t: &Tier, place: Place) -> Doc {
        let open = self.trivia.next_code(t.name.span.end);
        let close = place.end.saturating_sub(1);
        let mut docs = self.hoist(open + 1);
        if let [TierClause::Outcome(o, _)] = t.clauses.as_slice()
            && !self.cursor.pending_before(close)
        {
            let line = format!("tier {} {} {{ outcome {o} }}", t.id, quote(&t.name.value));
            if let Some(line) = super::doc::one_line(&text(line)) {
                docs.push(text(line));
                return concat(docs);
            }
        }
        let starts: Vec<usize> = t.clauses.iter().map(|c| self.clause_start(c)).collect();
        let first = starts.first().copied().unwrap_or(close);
        let (above, after_open) = line_end(self.cursor.trailing(first));
        docs.extend(own_lines(above));
        docs.push(text(format!("tier {} {} {{", t.id, quote(&t.name.value))));
        let pad = t
            .clauses
            .iter()
            .filter_map(|c| clause_keyword(c).filter(|k| !k.contains(' ')))
            .map(str::len)
            .max()
            .unwrap_or(0);
        let mut block = Block::default();
        for (i, c) in t.clauses.iter().enumerate() {
            let place = Place {
                start: starts.get(i).copied().unwrap_or(close),
                end: self.tight_end(clause_end(c)),
                bound: starts.get(i + 1).copied().unwrap_or(close),
            };
            self.item(&mut block, place, true, |p| p.clause(c, pad));
        }
        block.comments(self.cursor.before(close), true);
        close_block(docs, after_open, block)
    }

    /// Where a tier clause starts: its keyword. An `approve` clause's span
    /// starts at its roles, so the keyword is found before them.
    fn clause_start(&self, c: &TierClause) -> usize {
        match c {
            TierClause::Approve(a) => self.keyword_before(a.span.start, "approve"),
            TierClause::Outcome(_, span)
            | TierClause::Evidence { span, .. }
            | TierClause::Timeout { span, .. }
            | TierClause::Forbid(_, span)
            | TierClause::Distinct(_, span)
            | TierClause::Require(_, span) => span.start,
            TierClause::Sample(r) => r.span.start,
        }
    }

    /// The start of `keyword`, written right before `pos` with only
    /// whitespace, comments and opening parentheses between. Comments after
    /// a keyword that starts a line belong above that line, not at the end
    /// of the line before: the keyword is where that line starts.
    pub(super) fn keyword_before(&self, pos: usize, keyword: &str) -> usize {
        let mut end = self.trivia.code_end_before(pos);
        while end > 0 && self.trivia.char_at(end - 1) == Some('(') {
            end = self.trivia.code_end_before(end - 1);
        }
        end.saturating_sub(keyword.len())
    }

    fn clause(&mut self, c: &TierClause, pad: usize) -> Doc {
        let keyword = clause_keyword(c).unwrap_or("");
        let head = text(format!("{keyword:<pad$} "));
        let value = match c {
            TierClause::Outcome(o, _) => text(o.as_str()),
            TierClause::Approve(a) => approvers(a),
            TierClause::Evidence {
                fields, otherwise, ..
            } => {
                let mut docs = vec![names(fields.iter().map(|f| f.name.as_str()))];
                if let Some((o, _)) = otherwise {
                    docs.push(text(format!(" otherwise {o}")));
                }
                concat(docs)
            }
            TierClause::Timeout { written, then, .. } => {
                let then = match then {
                    Expiry::Escalate(r) => format!("escalate to {}", r.name),
                    Expiry::Reject => "reject".to_owned(),
                    Expiry::Block => "block".to_owned(),
                    Expiry::Approve(_) => "approve".to_owned(),
                };
                text(format!("{written} then {then}"))
            }
            TierClause::Forbid(paths, _) => names(paths.iter().map(|p| p.name.as_str())),
            TierClause::Distinct(items, _) => names(items.iter().map(|(d, _)| match d {
                Distinct::People => "people",
                Distinct::Roles => "roles",
            })),
            TierClause::Require(Requirement::Text(t), _) => text(quote(&t.value)),
            TierClause::Sample(r) => text(share_text(r)),
            TierClause::Require(Requirement::Condition(e), _) => {
                let above = self.hoist(first_test_start(e));
                return concat(vec![concat(above), head, self.condition(e)]);
            }
        };
        concat(vec![head, value])
    }

    /// ```text
    /// rule NAME "DESCRIPTION"
    ///   when CONDITION
    ///   unless CONDITION
    ///   then CONSEQUENCE, ...
    ///   because CODE, ...
    /// ```
    fn rule(&mut self, r: &Rule) -> Doc {
        let head_end = r
            .description
            .as_ref()
            .map_or(r.name.span.end, |d| d.span.end);
        // Comments inside the head go above the rule in either layout, so
        // they are taken first: the one-line choice must not depend on
        // whether a comment sat in the head (it is above the rule the next
        // time round, which would flip the choice and break idempotence).
        let mut docs = self.hoist(head_end);
        if let Some(line) = self.one_line_rule(r) {
            docs.push(line);
            return concat(docs);
        }
        let mut head = format!("rule {}", r.name.name);
        if let Some(d) = &r.description {
            head.push(' ');
            head.push_str(&quote(&d.value));
        }
        let (above, suffix) = self.ending(self.keyword_before(r.when.span.start, "when"));
        docs.extend(above);
        docs.push(text(head));
        docs.push(suffix);

        let then_start = r
            .consequences
            .first()
            .map_or(head_end, |c| self.consequence_start(c));
        let then_keyword = self.keyword_before(then_start, "then");
        let because_start = r.because.first().map(|b| b.span.start);
        let because_keyword = because_start.map(|b| self.keyword_before(b, "because"));
        let mut parts = Block::default();
        let conditions = std::iter::once(("when ", &r.when))
            .chain(r.unless.iter().map(|u| ("unless ", u)))
            .collect::<Vec<_>>();
        for (i, (keyword, cond)) in conditions.iter().enumerate() {
            parts.comments(self.cursor.before(first_test_start(cond)), false);
            let doc = self.condition(cond);
            let bound = conditions.get(i + 1).map_or(then_keyword, |(_, next)| {
                self.keyword_before(next.span.start, "unless")
            });
            let (above, suffix) = line_end(self.cursor.trailing(bound));
            parts.comments(above, false);
            parts.line(concat(vec![text(*keyword), doc, suffix]), false);
        }
        parts.comments(self.cursor.before(then_start), false);
        let (then, above) = self.consequences(&r.consequences, because_keyword);
        parts.comments(above, false);
        parts.line(concat(vec![text("then "), nest(then)]), false);
        if let Some(start) = because_start {
            parts.comments(self.cursor.before(start), false);
            let (because, above) = self.reason_codes(&r.because);
            parts.comments(above, false);
            parts.line(concat(vec![text("because "), nest(because)]), false);
        }
        docs.push(nest(concat(vec![Doc::HardLine, parts.into_doc()])));
        concat(docs)
    }

    /// `rule NAME when COND then CONSEQUENCES` on one line, for a rule of
    /// just these two parts (no description, `unless`, `because` or comment)
    /// whose whole text fits: the form short examples are written in. Any
    /// more makes the rule a block (its head line, then one line per part),
    /// as in the shipped policies, so rules with reasons read alike. The
    /// choice depends on the tree and the comments only.
    fn one_line_rule(&mut self, r: &Rule) -> Option<Doc> {
        if r.description.is_some()
            || !r.unless.is_empty()
            || !r.because.is_empty()
            || self.cursor.pending_before(r.span.end)
        {
            return None;
        }
        let line = concat(vec![
            text(format!("rule {} when ", r.name.name)),
            self.condition(&r.when),
            text(" then "),
            self.consequences(&r.consequences, None).0,
        ]);
        super::doc::one_line(&line).map(text)
    }

    /// `default CONSEQUENCE, ... because CODE, ...`, with `because` on a
    /// line of its own when it does not fit.
    fn default(&mut self, d: &Default) -> Doc {
        let because_start = d.because.first().map(|b| b.span.start);
        let because_keyword = because_start.map(|b| self.keyword_before(b, "because"));
        let first = d.consequences.first().map(|c| self.consequence_start(c));
        let mut above_line = first.map(|f| self.hoist(f)).unwrap_or_default();
        let (consequences, above) = self.consequences(&d.consequences, because_keyword);
        above_line.extend(own_lines(above));
        let mut docs = vec![text("default "), nest(consequences)];
        if let Some(start) = because_start {
            // Comments before `because` go on lines of their own above it.
            let mut before = self.cursor.before(start);
            let (codes, above) = self.reason_codes(&d.because);
            before.extend(above);
            let mut line = Vec::new();
            if before.is_empty() {
                line.push(Doc::Line);
            } else {
                for c in before {
                    line.push(Doc::HardLine);
                    line.push(text(c.text));
                }
                line.push(Doc::HardLine);
            }
            line.push(text("because "));
            line.push(nest(codes));
            docs.push(nest(concat(line)));
        }
        above_line.push(group(concat(docs)));
        concat(above_line)
    }

    /// The consequences, and the comments that go above their line.
    fn consequences(&mut self, cs: &[Consequence], end: Option<usize>) -> (Doc, Vec<Comment>) {
        let items = cs
            .iter()
            .map(|c| (self.consequence_start(c), self.consequence(c)))
            .collect();
        let (parts, above) = self.comma_list(items, end, false);
        (Doc::Fill(parts), above)
    }

    /// The reason codes, and the comments that go above their line.
    fn reason_codes(&mut self, codes: &[Ident]) -> (Doc, Vec<Comment>) {
        let items = codes
            .iter()
            .map(|c| (c.span.start, text(c.name.clone())))
            .collect();
        let (parts, above) = self.comma_list(items, None, false);
        (Doc::Fill(parts), above)
    }

    fn consequence_start(&self, c: &Consequence) -> usize {
        match c {
            Consequence::Tier(_, span)
            | Consequence::AtLeast(_, span)
            | Consequence::Evidence(_, span) => span.start,
            Consequence::Sample(r) => r.span.start,
            Consequence::Approve(a) => self.keyword_before(a.span.start, "approve"),
        }
    }
}

/// `head {`, the block indented, `}`; `head {}` when there is nothing inside
/// (`after_open` is the comment ending the `{` line, if any).
fn close_block(mut docs: Vec<Doc>, after_open: Doc, block: Block) -> Doc {
    let empty = block.is_empty() && !after_open.forces_break();
    docs.push(after_open);
    if empty {
        docs.push(text("}"));
    } else {
        docs.push(nest(concat(vec![Doc::HardLine, block.into_doc()])));
        docs.push(Doc::HardLine);
        docs.push(text("}"));
    }
    concat(docs)
}

fn clause_keyword(c: &TierClause) -> Option<&'static str> {
    Some(match c {
        TierClause::Outcome(..) => "outcome",
        TierClause::Approve(_) => "approve",
        TierClause::Evidence { .. } => "evidence",
        TierClause::Timeout { .. } => "timeout",
        TierClause::Forbid(..) => "forbid approval by",
        TierClause::Distinct(..) => "distinct",
        TierClause::Require(..) => "require",
        TierClause::Sample(_) => "sample",
    })
}

fn clause_end(c: &TierClause) -> usize {
    match c {
        TierClause::Approve(a) => a.span.end,
        TierClause::Outcome(_, span)
        | TierClause::Evidence { span, .. }
        | TierClause::Timeout { span, .. }
        | TierClause::Forbid(_, span)
        | TierClause::Distinct(_, span)
        | TierClause::Require(_, span) => span.end,
        TierClause::Sample(r) => r.span.end,
    }
}

/// `5% for review`: the share in its canonical spelling (no leading zeros,
/// no trailing zeros after the point; the value is unchanged, see
/// `values::share`).
fn share_text(r: &crate::syntax::ast::SampleRate) -> String {
    format!(
        "{}% for review",
        crate::values::share::canonical_share(&r.share)
    )
}

/// `a, b, c`, wrapped onto indented lines when too long.
fn names<'a>(items: impl Iterator<Item = &'a str>) -> Doc {
    let mut parts = Vec::new();
    for (i, name) in items.enumerate() {
        if i > 0 {
            parts.push(concat(vec![text(","), Doc::Line]));
        }
        parts.push(text(name));
    }
    nest(Doc::Fill(parts))
}

fn approvers(a: &Approvers) -> Doc {
    let roles = a.roles.iter().map(|r| r.name.as_str());
    match a.kind {
        ApproverKind::All => text(roles.collect::<Vec<_>>().join(" and ")),
        ApproverKind::Any => text(roles.collect::<Vec<_>>().join(" or ")),
        ApproverKind::Count(n) => concat(vec![text(format!("{n} of ")), names(roles)]),
    }
}

impl Printer<'_> {
    /// One consequence. A raise keeps the form its author wrote, `at least
    /// explicit` or the bare `explicit` (the two mean the same, docs/language.md
    /// "Rules"): both read well in different places, and which one was written
    /// is in the source, so the choice is stable across runs. A tree without
    /// source text (built by hand) prints the bare form.
    fn consequence(&self, c: &Consequence) -> Doc {
        match c {
            Consequence::AtLeast(o, span) if !self.wrote_at_least(span.start) => text(o.as_str()),
            other => consequence(other),
        }
    }

    /// The source has the keyword `at least` at `pos` (an outcome word never
    /// starts with `at` followed by a space).
    fn wrote_at_least(&self, pos: usize) -> bool {
        self.trivia.char_at(pos) == Some('a')
            && self.trivia.char_at(pos + 1) == Some('t')
            && self
                .trivia
                .char_at(pos + 2)
                .is_some_and(char::is_whitespace)
    }
}

fn consequence(c: &Consequence) -> Doc {
    match c {
        Consequence::Tier(n, _) => text(format!("tier {n}")),
        Consequence::AtLeast(o, _) => text(format!("at least {o}")),
        Consequence::Evidence(fields, _) => concat(vec![
            text("evidence "),
            names(fields.iter().map(|f| f.name.as_str())),
        ]),
        Consequence::Approve(a) => concat(vec![text("approve "), approvers(a)]),
        Consequence::Sample(r) => text(format!("sample {}", share_text(r))),
    }
}

/// A string literal: quoted, with `\`, `"`, line breaks and tabs escaped.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
