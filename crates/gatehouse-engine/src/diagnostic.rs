//! Diagnostics: every problem found in policy text, with a stable code, the
//! place it was found, a labelled span and a help line. They render through
//! miette on a terminal and serialize to JSON for tools.

use std::fmt;
use std::sync::Arc;

use crate::source::{Location, SourceFile, Span};

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The policy still compiles; something is probably wrong.
    Warning,
    /// The policy does not compile.
    Error,
}

macro_rules! codes {
    ($( $variant:ident = $code:literal, $name:literal, $severity:ident, $summary:literal; )*) => {
        /// A stable diagnostic code. Codes are never reused or renumbered;
        /// `docs/language.md` has an example for each.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $( #[doc = $summary] $variant, )*
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as printed, e.g. `E0201`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A short kebab-case name, e.g. `unknown-attribute`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity this code is reported with.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// One line on what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    Io = "E0001", "unreadable-file", Error, "a policy file or directory could not be read";
    Syntax = "E0002", "syntax-error", Error, "the text does not follow the grammar";
    InvalidLiteral = "E0003", "invalid-literal", Error, "a number, duration, timestamp or string literal is malformed or out of range";
    InvalidRegex = "E0004", "invalid-regex", Error, "a `matches` pattern is not a valid regular expression";
    LimitExceeded = "E0005", "limit-exceeded", Error, "a file, the policy set or one of its parts exceeds a documented limit";
    InvalidConfig = "E0006", "invalid-config", Error, "a gatehouse.toml cannot be read, is not valid TOML, or sets a key, code or level gatehouse does not know";
    MissingHeader = "E0101", "missing-header", Error, "no file of the policy set has a `policy` header";
    DuplicateDefinition = "E0102", "duplicate-definition", Error, "a name is defined twice in one policy set";
    ReservedName = "E0103", "reserved-name", Error, "a name clashes with one gatehouse reserves";
    EmptyPolicySet = "E0104", "empty-policy-set", Error, "a directory holds no `.gate` files";
    UnknownAttribute = "E0201", "unknown-attribute", Error, "an attribute path is not declared in the schema";
    UnknownRole = "E0202", "unknown-role", Error, "an approver role is not declared";
    UnknownEvidence = "E0203", "unknown-evidence", Error, "an evidence field is not declared";
    UnknownReason = "E0204", "unknown-reason", Error, "a reason code is not declared";
    UnknownTier = "E0205", "unknown-tier", Error, "a tier number is not declared";
    UnknownEnumValue = "E0206", "unknown-enum-value", Error, "a value is not one of the enum's declared values";
    TypeMismatch = "E0301", "type-mismatch", Error, "a value or attribute has the wrong type for where it is used";
    InvalidOperator = "E0302", "invalid-operator", Error, "an operator does not apply to the attribute's type";
    InvalidTier = "E0303", "invalid-tier", Error, "a tier is incomplete or contradicts itself";
    InvalidRole = "E0304", "invalid-role", Error, "a role's limit or escalation is unusable";
    InvalidConsequence = "E0305", "invalid-consequence", Error, "a rule or default asks for something contradictory";
    TimeoutApproves = "E0306", "timeout-approves", Error, "a timeout approves the action at expiry (expiry is not approval)";
    InvalidSampleRate = "E0307", "invalid-sample-rate", Error, "a `sample N% for review` share is 0, above 100% or finer than 4 decimals";
    MissingDefault = "W0001", "missing-default", Warning, "no `default`: actions no rule matches are blocked with NO_RULE_MATCHED";
    InvalidSuppression = "W0002", "invalid-suppression", Warning, "a suppression comment has no reason, is malformed, names no lint, or suppresses nothing";
    AnalysisIncomplete = "W0003", "analysis-incomplete", Warning, "the semantic lints ran out of their work budget on a very large policy; some findings may be missing";
    UnreachableRule = "L0001", "unreachable-rule", Warning, "a rule can never match, or can never change the outcome";
    Contradiction = "L0002", "contradiction", Warning, "a condition can never hold";
    Tautology = "L0003", "tautology", Warning, "a condition always holds";
    ThresholdGap = "L0004", "threshold-gap", Warning, "numeric conditions on one attribute leave a value unhandled";
    ThresholdOverlap = "L0005", "threshold-overlap", Warning, "in first-match mode, numeric conditions overlap with different outcomes";
    NoApprover = "L0006", "no-approver", Warning, "a tier needs approval but names no approver";
    UnsatisfiableApproval = "L0007", "unsatisfiable-approval", Error, "no set of people can ever satisfy a tier's approval";
    LimitBelowThreshold = "L0008", "limit-below-threshold", Error, "a role is asked to approve amounts above its limit, with nowhere to escalate";
    MissingTimeout = "L0009", "missing-timeout", Warning, "an explicit or dual tier has no timeout";
    DangerousAuto = "L0011", "dangerous-auto", Error, "an action with external or irreversible effect can be decided `auto`";
    UnusedDeclaration = "L0012", "unused-declaration", Warning, "a role, evidence field, reason code or tier that nothing refers to";
    DuplicateReasonMessage = "L0013", "duplicate-reason-message", Warning, "two reason codes share one message";
    TierOrdering = "L0014", "tier-ordering", Warning, "a higher tier number is less strict than a lower one";
    EscalationTooLow = "L0015", "escalation-too-low", Warning, "a timeout or limit escalates to a role that cannot approve what it receives";
    DuplicateCondition = "L0016", "duplicate-condition", Warning, "a test is written twice in one `and` or `or`";
    IneffectiveSample = "L0017", "ineffective-sample", Warning, "a `sample N% for review` can never apply: its tier or rule is never `auto`, or a higher share always wins";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A labelled range of one file.
#[derive(Clone, Debug)]
pub struct Label {
    /// What the range shows.
    pub text: String,
    /// The range.
    pub span: Span,
}

/// One problem in policy text.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// Stable code.
    pub code: Code,
    /// Lowercase, no final period, user text in backticks.
    pub message: String,
    /// The file the labels point into, when there is one.
    pub file: Option<Arc<SourceFile>>,
    /// The primary label first.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: String,
    /// Other places involved (the first definition of a duplicate, maybe in
    /// another file).
    pub related: Vec<Diagnostic>,
    /// The level configured for this finding, when it differs from the
    /// code's default (lints can be raised, lowered or turned off).
    pub level: Option<Severity>,
    /// A concrete input that shows the problem (lints), as JSON.
    pub example: Option<serde_json::Value>,
}

impl Diagnostic {
    /// A diagnostic with one primary label.
    pub fn new(
        code: Code,
        file: &Arc<SourceFile>,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            file: Some(Arc::clone(file)),
            labels: vec![Label {
                text: label.into(),
                span,
            }],
            help: help.into(),
            related: Vec::new(),
            level: None,
            example: None,
        }
    }

    /// A diagnostic about a file as a whole, or about no file.
    pub fn without_span(
        code: Code,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            file: None,
            labels: Vec::new(),
            help: help.into(),
            related: Vec::new(),
            level: None,
            example: None,
        }
    }

    /// Adds a second place: a secondary label when it is in the same file,
    /// a related note (rendered with its own snippet) when in another.
    pub fn with_related(
        mut self,
        file: &Arc<SourceFile>,
        span: Span,
        label: impl Into<String>,
    ) -> Diagnostic {
        let label = label.into();
        if self.file.as_ref().is_some_and(|f| f.name == file.name) {
            self.labels.push(Label { text: label, span });
            return self;
        }
        self.related.push(Diagnostic {
            code: self.code,
            message: label.clone(),
            file: Some(Arc::clone(file)),
            labels: vec![Label { text: label, span }],
            help: String::new(),
            related: Vec::new(),
            level: None,
            example: None,
        });
        self
    }

    /// The code's severity.
    pub fn severity(&self) -> Severity {
        self.level.unwrap_or_else(|| self.code.severity())
    }

    /// Whether this is a lint finding (an `L` code), which configuration
    /// may raise, lower or turn off.
    pub fn is_lint(&self) -> bool {
        self.code.as_str().starts_with('L')
    }

    /// Where the primary label starts, if the diagnostic has one.
    pub fn location(&self) -> Option<Location> {
        let file = self.file.as_ref()?;
        let span = self.labels.first().map(|l| l.span).unwrap_or_default();
        Some(file.location(span))
    }

    /// A JSON-friendly view, for `check --format json`.
    pub fn to_json(&self) -> serde_json::Value {
        let labels: Vec<serde_json::Value> = self
            .labels
            .iter()
            .filter_map(|l| {
                let file = self.file.as_ref()?;
                let loc = file.location(l.span);
                Some(serde_json::json!({
                    "label": l.text,
                    "file": loc.file,
                    "line": loc.line,
                    "column": loc.column,
                    "offset": l.span.start,
                    "length": l.span.len(),
                }))
            })
            .collect();
        let location = self.location();
        serde_json::json!({
            "code": self.code.as_str(),
            "name": self.code.name(),
            "severity": self.severity(),
            "message": self.message,
            "file": location.as_ref().map(|l| l.file.clone()),
            "line": location.as_ref().map(|l| l.line),
            "column": location.as_ref().map(|l| l.column),
            "labels": labels,
            "help": self.help,
            "related": self.related.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
            "example": self.example,
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// Lets miette read the file text; the name is what its header shows.
#[derive(Debug)]
struct NamedFile(Arc<SourceFile>);

impl miette::SourceCode for NamedFile {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self
            .0
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.0.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// A diagnostic prepared for miette: it owns its source handle.
#[derive(Debug)]
pub struct Rendered {
    diagnostic: Diagnostic,
    source: Option<NamedFile>,
    related: Vec<Rendered>,
}

impl Rendered {
    /// Wraps a diagnostic for rendering.
    pub fn new(diagnostic: &Diagnostic) -> Rendered {
        Rendered {
            source: diagnostic.file.as_ref().map(|f| NamedFile(Arc::clone(f))),
            related: diagnostic.related.iter().map(Rendered::new).collect(),
            diagnostic: diagnostic.clone(),
        }
    }
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if self.diagnostic.help.is_empty() && self.diagnostic.related.is_empty() && self.is_note() {
            return None;
        }
        Some(Box::new(format!(
            "{}({})",
            self.diagnostic.code.as_str(),
            self.diagnostic.code.name()
        )))
    }

    fn severity(&self) -> Option<miette::Severity> {
        if self.is_note() {
            return Some(miette::Severity::Advice);
        }
        Some(match self.diagnostic.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let example = self
            .diagnostic
            .example
            .as_ref()
            .map(|e| format!("example input: {e}"));
        match (self.diagnostic.help.is_empty(), example) {
            (true, None) => None,
            (false, None) => Some(Box::new(&self.diagnostic.help)),
            (true, Some(e)) => Some(Box::new(e)),
            (false, Some(e)) => Some(Box::new(format!("{}\n{e}", self.diagnostic.help))),
        }
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.source.as_ref()?;
        Some(Box::new(self.diagnostic.labels.iter().enumerate().map(
            |(i, l)| {
                if i == 0 {
                    miette::LabeledSpan::new_primary_with_span(Some(l.text.clone()), l.span)
                } else {
                    miette::LabeledSpan::new_with_span(Some(l.text.clone()), l.span)
                }
            },
        )))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

impl Rendered {
    /// Related notes carry no help of their own.
    fn is_note(&self) -> bool {
        self.diagnostic.help.is_empty()
    }
}

/// All diagnostics of one run, errors and warnings, in the order found.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity() == Severity::Error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.0
            .iter()
            .filter(|d| d.severity() == Severity::Error)
            .count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.0
            .iter()
            .filter(|d| d.severity() == Severity::Warning)
            .count()
    }

    /// Adds one.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// Iterates in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Renders every diagnostic as miette would on a terminal (`color` off
    /// gives plain text, as in snapshots and logs). With the `fancy`
    /// feature only: the engine itself has no terminal code.
    #[cfg(feature = "fancy")]
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for d in &self.0 {
            out.push_str(&render_one(d, color));
        }
        out
    }
}

/// Renders one diagnostic with miette's graphical handler (the `fancy`
/// feature, which the `gatehouse` CLI turns on).
#[cfg(feature = "fancy")]
pub fn render_one(d: &Diagnostic, color: bool) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    // Wrap at spaces only (not at the punctuation Unicode allows breaks
    // after, not inside a long word, not at hyphens): a counterexample
    // input (compact JSON) or a name like `prod-config` is never cut, so it
    // can be copied whole.
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_break_words(false)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation);
    let mut out = String::new();
    let rendered = Rendered::new(d);
    if handler.render_report(&mut out, &rendered).is_err() {
        out = format!("{}: {}\n", d.code, d.message);
    }
    out.push('\n');
    out
}

/// Writes one diagnostic as plain text, the same with or without features:
///
/// ```text
/// error[E0201](unknown-attribute): `action.amout` is not declared in the schema
///   --> refunds.gate:7:25
///   = not in the schema
///   = help: did you mean `action.amount`?
/// ```
///
/// Related places follow as `note` lines. This is what `Display` prints; the
/// CLI's graphical rendering (with source snippets) is [`Diagnostics::render`].
pub fn write_plain(f: &mut impl fmt::Write, d: &Diagnostic) -> fmt::Result {
    let severity = match d.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    writeln!(
        f,
        "{severity}[{}]({}): {}",
        d.code,
        d.code.name(),
        d.message
    )?;
    if let Some(loc) = d.location() {
        writeln!(f, "  --> {}:{}:{}", loc.file, loc.line, loc.column)?;
    }
    for label in &d.labels {
        if !label.text.is_empty() {
            writeln!(f, "  = {}", label.text)?;
        }
    }
    if !d.help.is_empty() {
        writeln!(f, "  = help: {}", d.help)?;
    }
    for r in &d.related {
        match r.location() {
            Some(loc) => writeln!(
                f,
                "  note: {} ({}:{}:{})",
                r.message, loc.file, loc.line, loc.column
            )?,
            None => writeln!(f, "  note: {}", r.message)?,
        }
    }
    Ok(())
}

impl fmt::Display for Diagnostics {
    /// Plain text, one [`write_plain`] block per diagnostic.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            write_plain(f, d)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Diagnostics {
        Diagnostics(vec![d])
    }
}
