//! pest pairs -> AST. One `parse_x` function per grammar rule; spans are
//! captured the moment a pair is converted. Shapes the grammar guarantees are
//! still checked: a mismatch becomes an internal-error diagnostic, never a
//! panic.

use std::sync::{Arc, OnceLock};

use pest::Parser as _;
use pest::iterators::Pair;

use super::ast::*;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::limits::{MAX_CONDITION_TESTS, MAX_LIST_ITEMS, MAX_STRING_BYTES};
use crate::source::{SourceFile, Span};
use crate::values::{Decimal, parse_duration};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/gate.pest"]
struct GateParser;

/// Keyword tokens carry no information once matched. A keyword is a rule
/// whose grammar name starts with `k_` (see `grammar/gate.pest`); the names
/// are read once into a table indexed by the rule's discriminant, because
/// this runs for every pair of every file and formatting the name each time
/// was a tenth of the cost of compiling a large policy.
fn is_keyword(rule: Rule) -> bool {
    static KEYWORDS: OnceLock<Vec<bool>> = OnceLock::new();
    let table = KEYWORDS.get_or_init(|| {
        let mut table = Vec::new();
        for r in Rule::all_rules() {
            let i = *r as usize;
            if table.len() <= i {
                table.resize(i + 1, false);
            }
            if let Some(slot) = table.get_mut(i) {
                *slot = format!("{r:?}").starts_with("k_");
            }
        }
        table
    });
    // `EOI` is not in `all_rules`; it is no keyword either.
    table.get(rule as usize).copied().unwrap_or(false)
}

fn children(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

/// Parses one file with pest alone. Syntax errors stop at the first (pest
/// cannot recover); malformed literals are all collected.
pub fn parse(source: &Arc<SourceFile>) -> Result<File, Diagnostics> {
    let mut pairs = GateParser::parse(Rule::file, &source.text)
        .map_err(|e| Diagnostics::from(syntax_error(source, e)))?;
    let mut ctx = Ctx {
        file: Arc::clone(source),
        errors: Vec::new(),
        base: 0,
    };
    let mut declarations = Vec::new();
    if let Some(file) = pairs.next() {
        ctx.declarations(file, &mut declarations);
    }
    if ctx.errors.is_empty() {
        Ok(File {
            source: Arc::clone(source),
            declarations,
        })
    } else {
        Err(Diagnostics(ctx.errors))
    }
}

/// Parses the region `start..end` of a file with pest as a file of its own
/// (`declaration* ~ EOI`), appending its declarations with spans in the
/// whole file. `None` when the region does not parse cleanly (a syntax
/// error, an invalid literal, a bad character boundary): the caller then
/// parses the whole file with [`parse`], so every diagnostic is the one the
/// whole file gives.
pub(super) fn parse_region(
    source: &Arc<SourceFile>,
    start: usize,
    end: usize,
    out: &mut Vec<Declaration>,
) -> Option<()> {
    let text = source.text.get(start..end)?;
    let mut pairs = GateParser::parse(Rule::file, text).ok()?;
    let mut ctx = Ctx {
        file: Arc::clone(source),
        errors: Vec::new(),
        base: start,
    };
    ctx.declarations(pairs.next()?, out);
    ctx.errors.is_empty().then_some(())
}

struct Ctx {
    file: Arc<SourceFile>,
    errors: Vec<Diagnostic>,
    /// Where the text given to pest starts in the file (0 for a whole file).
    base: usize,
}

type P<'a> = Pair<'a, Rule>;

impl Ctx {
    /// The declarations of a `file` pair, in order.
    fn declarations(&mut self, file: P<'_>, out: &mut Vec<Declaration>) {
        for pair in children(file) {
            if pair.as_rule() == Rule::EOI {
                continue;
            }
            if let Some(d) = self.declaration(pair) {
                out.push(d);
            }
        }
    }

    fn internal(&mut self, pair: &P<'_>, what: &str) {
        self.errors.push(Diagnostic::new(
            Code::Syntax,
            &self.file,
            at(self.base, pair.as_span()),
            format!(
                "internal parser error: unexpected {what} `{:?}`",
                pair.as_rule()
            ),
            "here",
            "this is a bug in gatehouse; please report it with this file",
        ));
    }

    fn declaration(&mut self, pair: P<'_>) -> Option<Declaration> {
        let span = at(self.base, pair.as_span());
        Some(match pair.as_rule() {
            Rule::header => Declaration::Header(self.header(pair, span)?),
            Rule::schema => {
                Declaration::Schema(children(pair).filter_map(|a| self.attribute(a)).collect())
            }
            Rule::evidence_decl => {
                Declaration::Evidence(children(pair).map(|p| ident(p, self.base)).collect())
            }
            Rule::role_decl => Declaration::Role(self.role(pair, span)?),
            Rule::reason_decl => {
                let mut it = children(pair);
                let code = ident(it.next()?, self.base);
                let message = self.text(it.next()?);
                Declaration::Reason(ReasonDecl {
                    code,
                    message,
                    span,
                })
            }
            Rule::tier_decl => Declaration::Tier(self.tier(pair, span)?),
            Rule::rule_decl => Declaration::Rule(self.rule(pair, span)?),
            Rule::default_decl => {
                let mut consequences = Vec::new();
                let mut because = Vec::new();
                for p in children(pair) {
                    match p.as_rule() {
                        Rule::consequences => consequences = self.consequences(p),
                        Rule::because => {
                            because = children(p).map(|p| ident(p, self.base)).collect()
                        }
                        _ => self.internal(&p, "default part"),
                    }
                }
                Declaration::Default(Default {
                    consequences,
                    because,
                    span,
                })
            }
            _ => {
                self.internal(&pair, "declaration");
                return None;
            }
        })
    }

    fn header(&mut self, pair: P<'_>, span: Span) -> Option<Header> {
        let mut it = children(pair);
        let name = self.text(it.next()?);
        let version = self.text(it.next()?);
        let mut combine = None;
        let mut description = None;
        for p in it {
            match p.as_rule() {
                Rule::combine => {
                    let mode = children(p).next()?;
                    let m = if mode.as_str() == "first-match" {
                        CombineMode::FirstMatch
                    } else {
                        CombineMode::Strictest
                    };
                    combine = Some((m, at(self.base, mode.as_span())));
                }
                Rule::description => description = Some(self.text(children(p).next()?)),
                _ => self.internal(&p, "header part"),
            }
        }
        Some(Header {
            name,
            version,
            combine,
            description,
            span,
        })
    }

    fn attribute(&mut self, pair: P<'_>) -> Option<Attribute> {
        let span = at(self.base, pair.as_span());
        let mut it = children(pair);
        let path = ident(it.next()?, self.base);
        let ty = self.type_expr(it.next()?)?;
        let optional = it.next().is_some();
        Some(Attribute {
            path,
            ty,
            optional,
            span,
        })
    }

    fn type_expr(&mut self, pair: P<'_>) -> Option<TypeExpr> {
        let inner = if pair.as_rule() == Rule::type_expr {
            children(pair).next()?
        } else {
            pair
        };
        Some(match inner.as_rule() {
            Rule::scalar_type => match inner.as_str() {
                "bool" => TypeExpr::Bool,
                "number" => TypeExpr::Number,
                "string" => TypeExpr::String,
                "duration" => TypeExpr::Duration,
                _ => TypeExpr::Timestamp,
            },
            Rule::enum_type => {
                TypeExpr::Enum(children(inner).map(|p| ident(p, self.base)).collect())
            }
            Rule::set_type => {
                let span = at(self.base, inner.as_span());
                let element = self.type_expr(children(inner).next()?)?;
                TypeExpr::Set(Box::new(element), span)
            }
            _ => {
                self.internal(&inner, "type");
                return None;
            }
        })
    }

    fn role(&mut self, pair: P<'_>, span: Span) -> Option<Role> {
        let mut it = children(pair);
        let name = ident(it.next()?, self.base);
        let mut role = Role {
            name,
            title: None,
            limit: None,
            escalate: None,
            span,
        };
        for p in it {
            match p.as_rule() {
                Rule::string => role.title = Some(self.text(p)),
                Rule::role_limit => {
                    let lspan = at(self.base, p.as_span());
                    let mut l = children(p);
                    let attribute = ident(l.next()?, self.base);
                    let inclusive = l.next()?.as_str() == "<=";
                    let value = self.number(l.next()?)?;
                    role.limit = Some(Limit {
                        attribute,
                        inclusive,
                        value,
                        span: lspan,
                    });
                }
                Rule::role_escalate => role.escalate = Some(ident(children(p).next()?, self.base)),
                _ => self.internal(&p, "role part"),
            }
        }
        Some(role)
    }

    fn tier(&mut self, pair: P<'_>, span: Span) -> Option<Tier> {
        let mut it = children(pair);
        let id_pair = it.next()?;
        let id_span = at(self.base, id_pair.as_span());
        let id = self.integer(id_pair)?;
        let name = self.text(it.next()?);
        let mut clauses = Vec::new();
        for p in it {
            if let Some(c) = self.tier_clause(p) {
                clauses.push(c);
            }
        }
        Some(Tier {
            id,
            id_span,
            name,
            clauses,
            span,
        })
    }

    fn tier_clause(&mut self, pair: P<'_>) -> Option<TierClause> {
        let span = at(self.base, pair.as_span());
        Some(match pair.as_rule() {
            Rule::outcome_clause => TierClause::Outcome(outcome(children(pair).next()?)?, span),
            Rule::approve_clause => TierClause::Approve(self.approvers(children(pair).next()?)?),
            Rule::evidence_clause => {
                let mut fields = Vec::new();
                let mut otherwise = None;
                for p in children(pair) {
                    match p.as_rule() {
                        Rule::name_list => {
                            fields = children(p).map(|p| ident(p, self.base)).collect()
                        }
                        Rule::otherwise => {
                            let o = children(p).next()?;
                            otherwise = Some((outcome(o.clone())?, at(self.base, o.as_span())));
                        }
                        _ => self.internal(&p, "evidence part"),
                    }
                }
                TierClause::Evidence {
                    fields,
                    otherwise,
                    span,
                }
            }
            Rule::timeout_clause => {
                let mut it = children(pair);
                let d = it.next()?;
                let written = d.as_str().to_owned();
                let seconds = self.duration(d)?;
                let action = children(it.next()?).next()?;
                let then = match action.as_rule() {
                    Rule::expire_escalate => {
                        Expiry::Escalate(ident(children(action).next()?, self.base))
                    }
                    Rule::expire_reject => Expiry::Reject,
                    Rule::expire_approve => Expiry::Approve(at(self.base, action.as_span())),
                    _ => Expiry::Block,
                };
                TierClause::Timeout {
                    seconds,
                    written,
                    then,
                    span,
                }
            }
            Rule::sample_clause => TierClause::Sample(sample_rate(pair, self.base)?),
            Rule::forbid_clause => {
                TierClause::Forbid(children(pair).map(|p| ident(p, self.base)).collect(), span)
            }
            Rule::distinct_clause => TierClause::Distinct(
                children(pair)
                    .map(|p| {
                        let d = if p.as_str() == "people" {
                            Distinct::People
                        } else {
                            Distinct::Roles
                        };
                        (d, at(self.base, p.as_span()))
                    })
                    .collect(),
                span,
            ),
            Rule::require_clause => {
                let p = children(pair).next()?;
                let r = if p.as_rule() == Rule::string {
                    Requirement::Text(self.text(p))
                } else {
                    Requirement::Condition(self.condition(p)?)
                };
                TierClause::Require(r, span)
            }
            _ => {
                self.internal(&pair, "tier clause");
                return None;
            }
        })
    }

    fn approvers(&mut self, pair: P<'_>) -> Option<Approvers> {
        let span = at(self.base, pair.as_span());
        let inner = children(pair).next()?;
        Some(match inner.as_rule() {
            Rule::approvers_count => {
                let mut it = children(inner);
                let n = self.integer(it.next()?)?;
                let roles = children(it.next()?).map(|p| ident(p, self.base)).collect();
                Approvers {
                    kind: ApproverKind::Count(n),
                    roles,
                    span,
                }
            }
            Rule::approvers_all => Approvers {
                kind: ApproverKind::All,
                roles: children(inner).map(|p| ident(p, self.base)).collect(),
                span,
            },
            Rule::approvers_any => Approvers {
                kind: ApproverKind::Any,
                roles: children(inner).map(|p| ident(p, self.base)).collect(),
                span,
            },
            _ => Approvers {
                kind: ApproverKind::All,
                roles: vec![ident(inner, self.base)],
                span,
            },
        })
    }

    fn rule(&mut self, pair: P<'_>, span: Span) -> Option<Rule_> {
        let mut it = children(pair);
        let name = ident(it.next()?, self.base);
        let mut description = None;
        let mut when = None;
        let mut unless = Vec::new();
        let mut consequences = Vec::new();
        let mut because = Vec::new();
        for p in it {
            match p.as_rule() {
                Rule::string => description = Some(self.text(p)),
                Rule::expr => when = self.condition(p),
                Rule::unless => {
                    if let Some(e) = self.condition(children(p).next()?) {
                        unless.push(e);
                    }
                }
                Rule::consequences => consequences = self.consequences(p),
                Rule::because => because = children(p).map(|p| ident(p, self.base)).collect(),
                _ => self.internal(&p, "rule part"),
            }
        }
        Some(Rule_ {
            name,
            description,
            when: when?,
            unless,
            consequences,
            because,
            span,
        })
    }

    fn consequences(&mut self, pair: P<'_>) -> Vec<Consequence> {
        let mut out = Vec::new();
        for p in children(pair) {
            let span = at(self.base, p.as_span());
            let c = match p.as_rule() {
                Rule::set_tier => children(p)
                    .next()
                    .and_then(|n| self.integer(n))
                    .map(|n| Consequence::Tier(n, span)),
                Rule::at_least | Rule::raise_to => children(p)
                    .next()
                    .and_then(outcome)
                    .map(|o| Consequence::AtLeast(o, span)),
                Rule::add_evidence => children(p).next().map(|l| {
                    Consequence::Evidence(children(l).map(|p| ident(p, self.base)).collect(), span)
                }),
                Rule::add_approvers => children(p)
                    .next()
                    .and_then(|a| self.approvers(a))
                    .map(Consequence::Approve),
                Rule::sample_clause => sample_rate(p, self.base).map(Consequence::Sample),
                _ => {
                    self.internal(&p, "consequence");
                    None
                }
            };
            out.extend(c);
        }
        out
    }

    /// A whole condition (`when`, `unless`, `require`): an expression of
    /// at most [`MAX_CONDITION_TESTS`] tests.
    fn condition(&mut self, pair: P<'_>) -> Option<Expr> {
        let expr = self.expr(pair)?;
        // Counting first spares every condition within the limit (nearly
        // all) the list of spans.
        if count_tests(&expr) <= MAX_CONDITION_TESTS {
            return Some(expr);
        }
        let mut tests = Vec::new();
        test_spans(&expr, &mut tests);
        if let Some(first_over) = tests.get(MAX_CONDITION_TESTS) {
            self.errors.push(Diagnostic::new(
                Code::LimitExceeded,
                &self.file,
                *first_over,
                format!(
                    "a condition of {} tests; the limit is {MAX_CONDITION_TESTS}",
                    tests.len()
                ),
                format!("test number {}", MAX_CONDITION_TESTS + 1),
                "split it into several rules (rules are combined, so `a or b` is two rules with the same consequence), or test membership with `in [...]`",
            ));
        }
        Some(expr)
    }

    fn expr(&mut self, pair: P<'_>) -> Option<Expr> {
        // The span is taken only for the nodes that keep it: a wrapper
        // (`expr`, `not_expr`, a one-part `or`/`and`) hands its child's
        // expression up, and a condition is mostly wrappers.
        match pair.as_rule() {
            Rule::expr | Rule::not_expr => self.expr(children(pair).next()?),
            Rule::or_expr | Rule::and_expr => {
                let is_or = pair.as_rule() == Rule::or_expr;
                let mut it = children(pair.clone());
                let mut parts: Vec<Expr> = Vec::new();
                if let Some(p) = it.next() {
                    let first = self.expr(p)?;
                    // One part (most of them): no list to build and drop.
                    let Some(p) = it.next() else {
                        return Some(first);
                    };
                    parts.push(first);
                    parts.push(self.expr(p)?);
                }
                for p in it {
                    parts.push(self.expr(p)?);
                }
                let span = tight_span(&pair, self.base);
                let kind = if is_or {
                    ExprKind::Or(parts)
                } else {
                    ExprKind::And(parts)
                };
                Some(Expr { kind, span })
            }
            Rule::negation => Some(Expr {
                span: tight_span(&pair, self.base),
                kind: ExprKind::Not(Box::new(self.expr(children(pair).next()?)?)),
            }),
            Rule::predicate => {
                let span = tight_span(&pair, self.base);
                let mut it = children(pair);
                let attribute = ident(it.next()?, self.base);
                let test = match it.next() {
                    Some(t) => Some(self.test(t)?),
                    None => None,
                };
                Some(Expr {
                    kind: ExprKind::Predicate(Predicate { attribute, test }),
                    span,
                })
            }
            _ => {
                self.internal(&pair, "expression");
                None
            }
        }
    }

    fn test(&mut self, pair: P<'_>) -> Option<Test> {
        let span = at(self.base, pair.as_span());
        let rule = pair.as_rule();
        Some(match rule {
            Rule::compare => {
                let mut it = children(pair);
                let op = match it.next()?.as_str() {
                    "==" => CmpOp::Eq,
                    "!=" => CmpOp::Ne,
                    "<=" => CmpOp::Le,
                    ">=" => CmpOp::Ge,
                    "<" => CmpOp::Lt,
                    _ => CmpOp::Gt,
                };
                let rhs = it.next()?;
                let operand = if rhs.as_rule() == Rule::attr {
                    Operand::Name(ident(rhs, self.base))
                } else {
                    Operand::Literal(self.literal(rhs)?)
                };
                Test::Compare(op, operand)
            }
            Rule::in_list | Rule::not_in | Rule::contains_any | Rule::contains_all => {
                let list = children(pair).next()?;
                let mut items = Vec::new();
                for p in children(list) {
                    items.push(self.literal(p)?);
                }
                if items.len() > MAX_LIST_ITEMS {
                    self.errors.push(Diagnostic::new(
                        Code::LimitExceeded,
                        &self.file,
                        span,
                        format!("a list of {} items; the limit is {MAX_LIST_ITEMS}", items.len()),
                        "this list",
                        "split the list over several rules, or match a shared prefix with `starts_with` or `matches`",
                    ));
                }
                match rule {
                    Rule::in_list => Test::In(items, span),
                    Rule::not_in => Test::NotIn(items, span),
                    Rule::contains_any => Test::ContainsAny(items, span),
                    _ => Test::ContainsAll(items, span),
                }
            }
            Rule::contains => Test::Contains(self.literal(children(pair).next()?)?),
            Rule::matches => Test::Matches(self.text(children(pair).next()?)),
            Rule::starts_with => Test::StartsWith(self.text(children(pair).next()?)),
            Rule::ends_with => Test::EndsWith(self.text(children(pair).next()?)),
            Rule::exists => Test::Exists,
            Rule::missing => Test::Missing,
            _ => {
                self.internal(&pair, "test");
                return None;
            }
        })
    }

    fn literal(&mut self, pair: P<'_>) -> Option<Literal> {
        let span = at(self.base, pair.as_span());
        let value = match pair.as_rule() {
            Rule::string => LiteralValue::String(self.text(pair).value),
            Rule::number => LiteralValue::Number(self.number(pair)?),
            Rule::duration => LiteralValue::Duration(self.duration(pair)?),
            Rule::boolean => LiteralValue::Bool(pair.as_str() == "true"),
            Rule::ident => LiteralValue::Name(pair.as_str().to_owned()),
            _ => {
                self.internal(&pair, "literal");
                return None;
            }
        };
        Some(Literal { value, span })
    }

    fn text(&mut self, pair: P<'_>) -> Text {
        let span = at(self.base, pair.as_span());
        let raw = pair.as_str();
        let body = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(raw);
        let value = if body.contains('\\') {
            self.unescape(body, span)
        } else {
            // No escape: the text is the value (most strings).
            body.to_owned()
        };
        if value.len() > MAX_STRING_BYTES {
            self.errors.push(Diagnostic::new(
                Code::LimitExceeded,
                &self.file,
                Span {
                    start: span.start,
                    end: span.start + 1,
                },
                format!(
                    "a string of {} bytes; the limit is {MAX_STRING_BYTES}",
                    value.len()
                ),
                "this string",
                "keep long text out of the policy: link to it from a description, or split a long pattern",
            ));
        }
        Text { value, span }
    }

    /// The value of a string body with escapes; an unknown escape is
    /// reported (at the whole string) and left out.
    fn unescape(&mut self, body: &str, span: Span) -> String {
        let mut value = String::with_capacity(body.len());
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                value.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some('\\') => value.push('\\'),
                Some('"') => value.push('"'),
                other => {
                    let shown = other.map(|c| c.to_string()).unwrap_or_default();
                    self.errors.push(Diagnostic::new(
                        Code::InvalidLiteral,
                        &self.file,
                        span,
                        format!("unknown escape `\\{shown}` in string"),
                        "this string",
                        "the escapes are \\\" \\\\ \\n and \\t; in a regex, write `\\\\d` for `\\d`",
                    ));
                }
            }
        }
        value
    }

    fn number(&mut self, pair: P<'_>) -> Option<Decimal> {
        match Decimal::parse(pair.as_str()) {
            Ok(d) if d.is_exact() => Some(d),
            Ok(_) => {
                self.literal_error(
                    &pair,
                    "more than 18 fractional digits",
                    "write at most 18 digits after the point",
                );
                None
            }
            Err(e) => {
                self.literal_error(
                    &pair,
                    &e.to_string(),
                    "numbers are decimals up to 1e20 in magnitude",
                );
                None
            }
        }
    }

    fn duration(&mut self, pair: P<'_>) -> Option<i64> {
        let d = parse_duration(pair.as_str());
        if d.is_none() {
            self.literal_error(
                &pair,
                "not a duration",
                "durations are written like 30m, 24h, 7d or 1h30m: each unit once, largest first",
            );
        }
        d
    }

    fn integer(&mut self, pair: P<'_>) -> Option<u32> {
        let n = pair.as_str().parse().ok();
        if n.is_none() {
            self.literal_error(
                &pair,
                "number too large",
                "use a whole number below 4294967296",
            );
        }
        n
    }

    fn literal_error(&mut self, pair: &P<'_>, what: &str, help: &str) {
        self.errors.push(Diagnostic::new(
            Code::InvalidLiteral,
            &self.file,
            at(self.base, pair.as_span()),
            format!("invalid literal `{}`: {what}", pair.as_str()),
            what,
            help,
        ));
    }
}

type Rule_ = super::ast::Rule;

/// How many tests (predicates) a condition has. Recursion is bounded as in
/// [`test_spans`].
fn count_tests(expr: &Expr) -> usize {
    match &expr.kind {
        ExprKind::And(parts) | ExprKind::Or(parts) => parts.iter().map(count_tests).sum(),
        ExprKind::Not(inner) => count_tests(inner),
        ExprKind::Predicate(_) => 1,
    }
}

/// The span of every test (predicate) of a condition, in order. Recursion
/// is bounded by [`crate::limits::MAX_NESTING`], checked before parsing.
fn test_spans(expr: &Expr, out: &mut Vec<Span>) {
    match &expr.kind {
        ExprKind::And(parts) | ExprKind::Or(parts) => {
            for p in parts {
                test_spans(p, out);
            }
        }
        ExprKind::Not(inner) => test_spans(inner, out),
        ExprKind::Predicate(_) => out.push(expr.span),
    }
}

/// A pair's span without the whitespace and comments pest may include
/// after its last token: from its start to the end of its last descendant
/// (keywords included), or the pair's own end when it has none.
///
/// The latest-ending descendant is the last direct child: pest's pairs nest
/// (a descendant ends no later than the child holding it) and siblings
/// follow each other without overlap. So one step from the end of the
/// token queue gives what a walk over every descendant would, without
/// walking each subtree again at every level of a condition.
fn tight_span(pair: &P<'_>, base: usize) -> Span {
    let span = pair.as_span();
    let end = pair
        .clone()
        .into_inner()
        .next_back()
        .map_or_else(|| span.end(), |last| last.as_span().end());
    Span {
        start: base + span.start(),
        end: base + end,
    }
}

/// A pest span as a span of the whole file: pest counts from the start of
/// the text it was given, which is `base` bytes into the file when only a
/// region of it is parsed (see [`parse_region`]).
fn at(base: usize, span: pest::Span<'_>) -> Span {
    Span {
        start: base + span.start(),
        end: base + span.end(),
    }
}

fn ident(pair: P<'_>, base: usize) -> Ident {
    Ident {
        name: pair.as_str().to_owned(),
        span: at(base, pair.as_span()),
    }
}

/// `sample N% for review` -> the share as written (checked later).
fn sample_rate(pair: P<'_>, base: usize) -> Option<SampleRate> {
    let span = at(base, pair.as_span());
    let share = children(pair).next()?;
    Some(SampleRate {
        share: share.as_str().trim_end_matches('%').to_owned(),
        share_span: at(base, share.as_span()),
        span,
    })
}

fn outcome(pair: P<'_>) -> Option<Outcome> {
    Outcome::from_keyword(pair.as_str())
}

/// Human wording for grammar rules in "expected ..." messages.
fn describe(rule: &Rule) -> String {
    let s = match rule {
        Rule::EOI => "end of file",
        Rule::header => "`policy \"name\" version \"v\"`",
        Rule::schema => "`schema { ... }`",
        Rule::evidence_decl => "`evidence { ... }`",
        Rule::role_decl => "`role`",
        Rule::reason_decl => "`reason`",
        Rule::tier_decl => "`tier`",
        Rule::rule_decl => "`rule`",
        Rule::default_decl => "`default`",
        Rule::ident | Rule::name => "a name",
        Rule::path => "an attribute path like `action.amount`",
        Rule::attr => "an attribute path",
        Rule::reason_code => "a reason code in UPPER_SNAKE_CASE",
        Rule::string => "a string in double quotes",
        Rule::integer => "a whole number",
        Rule::number => "a number",
        Rule::duration => "a duration like `24h`",
        Rule::boolean => "`true` or `false`",
        Rule::combine => "`combine strictest` or `combine first-match`",
        Rule::combine_mode => "`strictest` or `first-match`",
        Rule::description => "`description \"...\"`",
        Rule::attribute => "an attribute declaration like `action.amount: number`",
        Rule::optional => "`?`",
        Rule::type_expr | Rule::scalar_type => {
            "a type (bool, number, string, duration, timestamp, enum { .. }, set of ..)"
        }
        Rule::outcome => "an outcome (auto, queue, explicit, dual, block)",
        Rule::outcome_clause => "`outcome`",
        Rule::approve_clause => "`approve`",
        Rule::evidence_clause => "`evidence`",
        Rule::timeout_clause => "`timeout`",
        Rule::forbid_clause => "`forbid approval by`",
        Rule::distinct_clause => "`distinct`",
        Rule::require_clause => "`require`",
        Rule::sample_clause => "`sample N% for review`",
        Rule::sample_share => "a share like `5%` or `0.5%`",
        Rule::otherwise => "`otherwise queue`",
        Rule::expiry_action => "`reject`, `block` or `escalate to ROLE`",
        Rule::distinct_item => "`people` or `roles`",
        Rule::role_limit => "`limit`",
        Rule::role_escalate => "`escalate to ROLE`",
        Rule::limit_op => "`<=` or `<`",
        Rule::unless => "`unless`",
        Rule::because => "`because`",
        Rule::consequences => {
            "a consequence (tier N, at least X, evidence .., approve .., sample N% for review)"
        }
        Rule::cmp_op => "a comparison operator",
        Rule::list => "a list like `[a, b]`",
        Rule::expr | Rule::or_expr | Rule::and_expr | Rule::not_expr | Rule::predicate => {
            "a condition"
        }
        Rule::compare => "a comparison",
        Rule::in_list => "`in [..]`",
        Rule::not_in => "`not in [..]`",
        Rule::contains | Rule::contains_any | Rule::contains_all => "`contains`",
        Rule::matches => "`matches`",
        Rule::starts_with => "`starts_with`",
        Rule::ends_with => "`ends_with`",
        Rule::exists => "`exists`",
        Rule::missing => "`missing`",
        other => {
            let name = format!("{other:?}");
            return match name.strip_prefix("k_") {
                Some(kw) => format!("`{}`", kw),
                None => name.replace('_', " "),
            };
        }
    };
    s.to_owned()
}

fn syntax_error(source: &Arc<SourceFile>, error: pest::error::Error<Rule>) -> Diagnostic {
    let (start, end) = match error.location {
        pest::error::InputLocation::Pos(p) => (p, p),
        pest::error::InputLocation::Span((s, e)) => (s, e),
    };
    let rest = source.text.get(start..).unwrap_or("");
    let token = offending_token(rest);
    let found: String = if token.chars().count() > 40 {
        token.chars().take(40).chain("…".chars()).collect()
    } else {
        token.to_owned()
    };
    let end = if end == start {
        // at least one character, so the label is visible
        let first = rest.chars().next().map_or(0, char::len_utf8);
        start + token.len().max(first)
    } else {
        end
    };
    let expected = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<String> = positives.iter().map(describe).collect();
            names.sort();
            names.dedup();
            match names.len() {
                0 => String::new(),
                1 => names.swap_remove(0),
                _ => {
                    let last = names.pop().unwrap_or_default();
                    format!("{} or {}", names.join(", "), last)
                }
            }
        }
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    let found_text = if found.is_empty() {
        "end of file".to_owned()
    } else {
        format!("`{found}`")
    };
    let message = if expected.is_empty() {
        format!("unexpected {found_text}")
    } else {
        format!("expected {expected}, found {found_text}")
    };
    Diagnostic::new(
        Code::Syntax,
        source,
        Span { start, end },
        message,
        if expected.is_empty() {
            "unexpected here".to_owned()
        } else {
            format!("expected {expected}")
        },
        syntax_help(&expected),
    )
}

/// The token at the start of `rest`: a whole string literal (to its closing
/// quote or the end of the line), or the text up to the next whitespace.
fn offending_token(rest: &str) -> &str {
    if let Some(body) = rest.strip_prefix('"') {
        let stop = body.find(['"', '\n']).unwrap_or(body.len());
        let closed = body.get(stop..).is_some_and(|r| r.starts_with('"'));
        return rest.get(..1 + stop + usize::from(closed)).unwrap_or(rest);
    }
    let stop = rest.find(char::is_whitespace).unwrap_or(rest.len());
    rest.get(..stop).unwrap_or(rest)
}

fn syntax_help(expected: &str) -> String {
    if expected.contains("a condition") || expected.contains("comparison") {
        "conditions look like `action.amount > 1000 and action.type in [send, delete]`".to_owned()
    } else if expected.contains("consequence") {
        "a rule reads `rule NAME when CONDITION then tier N because REASON`".to_owned()
    } else if expected.contains("reason code") {
        "reason codes are UPPER_SNAKE_CASE, declared with `reason CODE \"message\"`".to_owned()
    } else {
        "see docs/language.md for the syntax of each declaration".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule's own name decides, as it did before the table.
    #[test]
    fn keywords_are_the_k_rules() {
        for r in Rule::all_rules() {
            assert_eq!(is_keyword(*r), format!("{r:?}").starts_with("k_"), "{r:?}");
        }
        assert!(!is_keyword(Rule::EOI));
    }

    /// The definition `tight_span` replaces: the latest end of any descendant.
    fn walked_span(pair: &P<'_>) -> (usize, usize) {
        let end = pair
            .clone()
            .into_inner()
            .flatten()
            .map(|p| p.as_span().end())
            .max()
            .unwrap_or_else(|| pair.as_span().end());
        (pair.as_span().start(), end)
    }

    fn same_spans(pair: P<'_>, checked: &mut usize) {
        let tight = tight_span(&pair, 0);
        assert_eq!(
            (tight.start, tight.end),
            walked_span(&pair),
            "{:?} at {:?}",
            pair.as_rule(),
            pair.as_span()
        );
        *checked += 1;
        for child in pair.into_inner() {
            same_spans(child, checked);
        }
    }

    /// Every pair of every policy in the repository and of the parser's fuzz
    /// corpus gets the same span from the last child as from a walk.
    #[test]
    fn tight_span_is_the_latest_descendant_end() {
        fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let path = e.path();
                let name = e.file_name();
                if path.is_dir() && name != "target" && name != ".git" {
                    collect(&path, out);
                } else if path.extension().is_some_and(|x| x == "gate")
                    || path.parent().is_some_and(|p| p.ends_with("corpus/parse"))
                {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        // The repository root: the shipped policies, examples and docs.
        collect(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
            &mut files,
        );
        let mut checked = 0;
        for path in &files {
            let bytes = std::fs::read(path).expect("readable");
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(pairs) = GateParser::parse(Rule::file, &text) {
                for pair in pairs {
                    same_spans(pair, &mut checked);
                }
            }
        }
        assert!(
            checked > 10_000,
            "only {checked} pairs in {} files",
            files.len()
        );
    }
}
