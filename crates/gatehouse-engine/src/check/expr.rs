//! Conditions: attribute paths resolved, operators checked against the
//! attribute's type, literals typed, regexes compiled.

use std::sync::Arc;

use super::{AttrId, Checker, Cond, Operand, Test, Type, Value};
use crate::diagnostic::Code;
use crate::source::{SourceFile, Span};
use crate::syntax::ast::{self, CmpOp, ExprKind, Literal, LiteralValue};
use crate::values::Timestamp;

use crate::limits::MAX_REGEX_SET_BYTES;

impl Checker {
    /// Checks one condition; `None` after reporting what is wrong.
    pub(super) fn condition(&mut self, file: &Arc<SourceFile>, e: &ast::Expr) -> Option<Cond> {
        match &e.kind {
            ExprKind::And(parts) | ExprKind::Or(parts) => {
                let mut out = Vec::new();
                let mut ok = true;
                for p in parts {
                    match self.condition(file, p) {
                        Some(c) => out.push(c),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                Some(if matches!(e.kind, ExprKind::And(_)) {
                    Cond::All(out)
                } else {
                    Cond::Any(out)
                })
            }
            ExprKind::Not(inner) => Some(Cond::Not(Box::new(self.condition(file, inner)?))),
            ExprKind::Predicate(p) => {
                let attr = self.attribute(file, &p.attribute)?;
                let ty = self.attributes.get(attr)?.ty.clone();
                let test = self.test(file, &p.attribute, &ty, p.test.as_ref(), e.span)?;
                Some(Cond::Test(attr, test))
            }
        }
    }

    fn test(
        &mut self,
        file: &Arc<SourceFile>,
        attr: &ast::Ident,
        ty: &Type,
        test: Option<&ast::Test>,
        span: Span,
    ) -> Option<Test> {
        let name = &attr.name;
        let Some(test) = test else {
            if *ty == Type::Bool {
                return Some(Test::IsTrue);
            }
            self.error(
                Code::TypeMismatch,
                file,
                span,
                format!("`{name}` is {}, not a condition", ty.with_article()),
                "not a bool",
                format!("compare it, e.g. `{name} == ..`, or test it with `{name} exists`"),
            );
            return None;
        };
        match test {
            ast::Test::Exists => Some(Test::Exists),
            ast::Test::Missing => Some(Test::Missing),
            ast::Test::Compare(op, operand) => self.compare(file, attr, ty, *op, operand, span),
            ast::Test::In(items, s) | ast::Test::NotIn(items, s) => {
                if matches!(ty, Type::Set(_) | Type::Bool) {
                    let help = if matches!(ty, Type::Set(_)) {
                        format!("for sets, use `{name} contains any [..]`")
                    } else {
                        format!("compare with `{name} == true`")
                    };
                    return self.bad_operator(file, *s, "in", name, ty, help);
                }
                let values = self.literals(file, ty, items)?;
                Some(if matches!(test, ast::Test::In(..)) {
                    Test::In(values)
                } else {
                    Test::NotIn(values)
                })
            }
            ast::Test::Contains(lit) => match ty {
                Type::String => match &lit.value {
                    LiteralValue::String(s) => Some(Test::Contains(Value::String(s.clone()))),
                    _ => {
                        self.mismatch(file, lit.span, ty, lit, "write the text in double quotes");
                        None
                    }
                },
                Type::Set(element) => Some(Test::Contains(self.literal(file, element, lit)?)),
                _ => self.bad_operator(
                    file,
                    span,
                    "contains",
                    name,
                    ty,
                    "`contains` tests a substring of a string or a member of a set".into(),
                ),
            },
            ast::Test::ContainsAny(items, s) | ast::Test::ContainsAll(items, s) => {
                let Type::Set(element) = ty else {
                    let op = if matches!(test, ast::Test::ContainsAny(..)) {
                        "contains any"
                    } else {
                        "contains all"
                    };
                    return self.bad_operator(
                        file,
                        *s,
                        op,
                        name,
                        ty,
                        format!("`contains any` and `contains all` apply to sets; for one value use `{name} in [..]`"),
                    );
                };
                let values = self.literals(file, element, items)?;
                Some(if matches!(test, ast::Test::ContainsAny(..)) {
                    Test::ContainsAny(values)
                } else {
                    Test::ContainsAll(values)
                })
            }
            ast::Test::Matches(pattern) => {
                if *ty != Type::String {
                    return self.bad_operator(
                        file,
                        span,
                        "matches",
                        name,
                        ty,
                        "regular expressions apply to string attributes".into(),
                    );
                }
                if self.regex_bytes > MAX_REGEX_SET_BYTES {
                    // The budget is spent and reported at the regex that
                    // crossed it; compiling more would spend memory for
                    // nothing.
                    return None;
                }
                match super::regex::compile(&pattern.value) {
                    Ok(compiled) => {
                        self.regex_bytes = self.regex_bytes.saturating_add(compiled.bytes);
                        if self.regex_bytes > MAX_REGEX_SET_BYTES {
                            self.error(
                                Code::LimitExceeded,
                                file,
                                pattern.span,
                                format!(
                                    "the regular expressions of the policy set take more than {MAX_REGEX_SET_BYTES} bytes ({} MiB) together",
                                    MAX_REGEX_SET_BYTES / (1024 * 1024)
                                ),
                                &format!(
                                    "this one takes {} bytes and brings the set to {}",
                                    compiled.bytes, self.regex_bytes
                                ),
                                format!(
                                    "the budget for all compiled regexes of a set is {MAX_REGEX_SET_BYTES} bytes; use fewer or smaller patterns: `starts_with`, `ends_with` or `in [...]` where they say the same, and avoid counted repetitions of large classes (`(?i)\\w{{20}}` alone takes about 1.7 MB)"
                                ),
                            );
                            return None;
                        }
                        Some(Test::Matches(compiled.regex))
                    }
                    Err(err) => {
                        let detail = err.to_string();
                        let last = detail.lines().last().unwrap_or("").trim().to_owned();
                        self.error(
                            Code::InvalidRegex,
                            file,
                            pattern.span,
                            format!("invalid regular expression: {}", last.trim_start_matches("error: ")),
                            "invalid pattern",
                            "patterns use Rust regex syntax (no look-around or backreferences); escape a literal `.` as `\\\\.`".into(),
                        );
                        None
                    }
                }
            }
            ast::Test::StartsWith(t) | ast::Test::EndsWith(t) => {
                if *ty != Type::String {
                    let op = if matches!(test, ast::Test::StartsWith(_)) {
                        "starts_with"
                    } else {
                        "ends_with"
                    };
                    return self.bad_operator(
                        file,
                        span,
                        op,
                        name,
                        ty,
                        "prefix and suffix tests apply to string attributes".into(),
                    );
                }
                Some(if matches!(test, ast::Test::StartsWith(_)) {
                    Test::StartsWith(t.value.clone())
                } else {
                    Test::EndsWith(t.value.clone())
                })
            }
        }
    }

    fn compare(
        &mut self,
        file: &Arc<SourceFile>,
        attr: &ast::Ident,
        ty: &Type,
        op: CmpOp,
        operand: &ast::Operand,
        span: Span,
    ) -> Option<Test> {
        let name = &attr.name;
        let ordered = matches!(ty, Type::Number | Type::Duration | Type::Timestamp);
        if !matches!(op, CmpOp::Eq | CmpOp::Ne) && !ordered {
            return self.bad_operator(
                file,
                span,
                op.as_str(),
                name,
                ty,
                "only numbers, durations and timestamps are ordered; use `==`, `!=` or `in` here"
                    .into(),
            );
        }
        if let Type::Set(_) = ty {
            return self.bad_operator(
                file,
                span,
                op.as_str(),
                name,
                ty,
                format!("test members with `{name} contains ..` or `{name} contains any [..]`"),
            );
        }
        match operand {
            ast::Operand::Literal(lit) => Some(Test::Compare(
                op,
                Operand::Value(self.literal(file, ty, lit)?),
            )),
            ast::Operand::Name(other) => {
                if let Type::Enum(values) = ty
                    && let Some(i) = values.iter().position(|v| *v == other.name)
                {
                    return Some(Test::Compare(op, Operand::Value(Value::Enum(i as u32))));
                }
                if let Some(id) = self.attribute_ids.get(&other.name).copied() {
                    return self.attribute_operand(file, ty, op, id, other);
                }
                if let Type::Enum(values) = ty {
                    self.unknown_enum_value(file, other.span, &other.name, name, values);
                    return None;
                }
                if other.name.contains('.') {
                    self.attribute(file, other);
                    return None;
                }
                let help = match ty {
                    Type::String | Type::Timestamp => {
                        format!("write text in double quotes: `\"{}\"`", other.name)
                    }
                    _ => "a bare name is an enum value or an attribute path".to_owned(),
                };
                self.error(
                    Code::TypeMismatch,
                    file,
                    other.span,
                    format!(
                        "`{}` is neither an attribute nor a value of `{name}` ({})",
                        other.name,
                        ty.describe()
                    ),
                    "unknown name",
                    help,
                );
                None
            }
        }
    }

    fn attribute_operand(
        &mut self,
        file: &Arc<SourceFile>,
        ty: &Type,
        op: CmpOp,
        id: AttrId,
        other: &ast::Ident,
    ) -> Option<Test> {
        let other_ty = self.attributes.get(id)?.ty.clone();
        if other_ty != *ty {
            self.error(
                Code::TypeMismatch,
                file,
                other.span,
                format!(
                    "cannot compare {} with `{}`, {}",
                    ty.with_article(),
                    other.name,
                    other_ty.with_article()
                ),
                "different type",
                "compare attributes of the same type".into(),
            );
            return None;
        }
        Some(Test::Compare(op, Operand::Attribute(id)))
    }

    fn literals(
        &mut self,
        file: &Arc<SourceFile>,
        ty: &Type,
        items: &[Literal],
    ) -> Option<Vec<Value>> {
        let mut out = Vec::new();
        let mut ok = true;
        for l in items {
            match self.literal(file, ty, l) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Types a literal as a value of a scalar type.
    fn literal(&mut self, file: &Arc<SourceFile>, ty: &Type, lit: &Literal) -> Option<Value> {
        match (ty, &lit.value) {
            (Type::Bool, LiteralValue::Bool(b)) => Some(Value::Bool(*b)),
            (Type::Number, LiteralValue::Number(n)) => Some(Value::Number(*n)),
            (Type::String, LiteralValue::String(s)) => Some(Value::String(s.clone())),
            (Type::Duration, LiteralValue::Duration(d)) => Some(Value::Duration(*d)),
            (Type::Timestamp, LiteralValue::String(s)) => match Timestamp::parse(s) {
                Some(t) => Some(Value::Timestamp(t)),
                None => {
                    self.error(
                        Code::InvalidLiteral,
                        file,
                        lit.span,
                        format!("`{s}` is not an RFC 3339 timestamp"),
                        "not a timestamp",
                        "write timestamps like \"2026-11-22T18:00:00Z\" (with a zone)".into(),
                    );
                    None
                }
            },
            (Type::Enum(values), LiteralValue::Name(n) | LiteralValue::String(n)) => {
                match values.iter().position(|v| v == n) {
                    Some(i) => Some(Value::Enum(i as u32)),
                    None => {
                        let values = values.clone();
                        self.unknown_enum_value(file, lit.span, n, "", &values);
                        None
                    }
                }
            }
            (Type::String, LiteralValue::Name(n)) => {
                self.mismatch(
                    file,
                    lit.span,
                    ty,
                    lit,
                    &format!("write text in double quotes: `\"{n}\"`"),
                );
                None
            }
            (Type::Number | Type::Bool | Type::Duration, LiteralValue::String(text))
                if quoted_value_fits(ty, text) =>
            {
                self.mismatch(
                    file,
                    lit.span,
                    ty,
                    lit,
                    &format!(
                        "remove the quotes: `{text}` is compared as {}",
                        ty.with_article()
                    ),
                );
                None
            }
            _ => {
                self.mismatch(
                    file,
                    lit.span,
                    ty,
                    lit,
                    &format!("use {} value here", ty.with_article()),
                );
                None
            }
        }
    }

    fn unknown_enum_value(
        &mut self,
        file: &Arc<SourceFile>,
        span: Span,
        value: &str,
        attr: &str,
        values: &[String],
    ) {
        let of = if attr.is_empty() {
            String::new()
        } else {
            format!(" of `{attr}`")
        };
        self.error(
            Code::UnknownEnumValue,
            file,
            span,
            format!("`{value}` is not a value{of}"),
            "unknown value",
            match super::did_you_mean(value, values.iter()) {
                Some(near) => format!(
                    "did you mean `{near}`? the declared values are {}",
                    values.join(", ")
                ),
                None => format!("the declared values are {}", values.join(", ")),
            },
        );
    }

    fn mismatch(
        &mut self,
        file: &Arc<SourceFile>,
        span: Span,
        ty: &Type,
        lit: &Literal,
        help: &str,
    ) {
        let found = match &lit.value {
            LiteralValue::Bool(_) => "a bool",
            LiteralValue::Number(_) => "a number",
            LiteralValue::String(_) => "a string",
            LiteralValue::Duration(_) => "a duration",
            LiteralValue::Name(_) => "a bare name",
        };
        self.error(
            Code::TypeMismatch,
            file,
            span,
            format!("expected {}, found {found}", ty.with_article()),
            "wrong type",
            help.to_owned(),
        );
    }

    fn bad_operator(
        &mut self,
        file: &Arc<SourceFile>,
        span: Span,
        op: &str,
        name: &str,
        ty: &Type,
        help: String,
    ) -> Option<Test> {
        self.error(
            Code::InvalidOperator,
            file,
            span,
            format!("`{op}` does not apply to `{name}`, {}", ty.with_article()),
            "invalid operator",
            help,
        );
        None
    }
}

/// Whether quoted text would be a valid literal of the type without quotes.
fn quoted_value_fits(ty: &Type, text: &str) -> bool {
    match ty {
        Type::Number => crate::values::Decimal::parse(text).is_ok(),
        Type::Bool => matches!(text, "true" | "false"),
        Type::Duration => crate::values::parse_duration(text).is_some(),
        _ => false,
    }
}
