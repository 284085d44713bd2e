//! The bodies of the fuzz targets, shared by `fuzz/fuzz_targets/*.rs` and by
//! the corpus replay test `tests/fuzz_corpus.rs` (which includes this file
//! with `#[path]`), so a fuzz target and its replay can never drift apart.
//!
//! Every body takes the raw bytes libFuzzer hands it and asserts the
//! invariants that matter; a panic is a finding. Only `gatehouse`,
//! `serde_json` and `arbitrary` may be used here: the replay test builds this
//! file as part of the root crate's tests.
//!
//! | target                | input                                   |
//! |-----------------------|-----------------------------------------|
//! | `parse`               | bytes as policy text                    |
//! | `parse_grammar`       | an [`Arbitrary`] policy rendered as text |
//! | `evaluate`            | bytes as a JSON action                  |
//! | `evaluate_structured` | a schema-aware generated action         |
//! | `fmt_roundtrip`       | bytes as policy text, formatted         |
//! | `verify`              | a generated action and approvals        |
//! | `digest`              | bytes as JSON (or a generated document) |
//! | `approval`            | bytes as signed approvals, trust stores  |
//! | `chain`               | bytes as an audit log, or edits of one  |

#![allow(dead_code)]

#[path = "chain.rs"]
pub mod chain;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Result as AResult, Unstructured};
use gatehouse::audit::digest::{action_digest, canonical_json};
use gatehouse::audit::verify::{Approval, ApprovalKind, Verdict, Verification, VerifyOptions};
use gatehouse::check::{PolicySet, Type};
use gatehouse::identity::{is_blank, normalize};
use gatehouse::source::SourceFile;
use gatehouse::syntax;
use gatehouse::syntax::format::format_source;
use gatehouse::values::Timestamp;
use gatehouse::{Decision, Diagnostic, Diagnostics, EvalOptions, Outcome, Policy};
use serde_json::{Map, Value as Json};

#[path = "approval.rs"]
pub mod approval;

// ------------------------------------------------------------ fixtures ----

/// The repository root: `CARGO_MANIFEST_DIR` is the root for the replay
/// test and `fuzz/` for the fuzz targets.
pub fn repo_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    if dir.join("policies").is_dir() {
        dir.to_path_buf()
    } else {
        dir.parent().unwrap_or(dir).to_path_buf()
    }
}

/// The shipped policy sets, loaded once: `ai-agent-actions`, `simple-router`.
pub fn shipped() -> &'static [Policy] {
    static POLICIES: OnceLock<Vec<Policy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        ["policies/ai-agent-actions", "policies/simple-router"]
            .iter()
            .map(|p| {
                Policy::load(repo_root().join(p))
                    .unwrap_or_else(|e| panic!("{p} must compile:\n{}", e.render(false)))
            })
            .collect()
    })
}

/// The shipped JSON sample actions (`examples/actions`, `examples/router`),
/// in a stable order.
pub fn examples() -> &'static [Json] {
    static EXAMPLES: OnceLock<Vec<Json>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let mut paths = Vec::new();
        for dir in ["examples/actions", "examples/router"] {
            let dir = repo_root().join(dir);
            for entry in std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .flatten()
            {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "json") {
                    paths.push(path);
                }
            }
        }
        paths.sort();
        paths
            .iter()
            .filter_map(|p| serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok())
            .collect()
    })
}

// ------------------------------------------------------------- targets ----

/// `parse`: arbitrary bytes (exact UTF-8, else lossy) as one policy file.
pub fn parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let files = vec![("fuzz.gate".to_owned(), text)];
    if let Some(policy) = check_sources(&files) {
        exercise_policy(&policy, &mut Unstructured::new(&[]));
    }
}

/// `parse_grammar`: a policy set generated from the grammar (real keywords,
/// declared names, typed literals, nesting, comments, one or two files),
/// checked, compiled, linted, evaluated and formatted.
pub fn parse_grammar(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(g) = GPolicy::arbitrary(&mut u) else {
        return;
    };
    let files = g.render();
    if let Some(policy) = check_sources(&files) {
        exercise_policy(&policy, &mut u);
    }
    for (name, text) in &files {
        fmt_check(name, text);
    }
}

/// `evaluate`: arbitrary bytes, when they are JSON, as an action for every
/// shipped policy.
pub fn evaluate(data: &[u8]) {
    let Ok(input) = serde_json::from_slice::<Json>(data) else {
        return;
    };
    for policy in shipped() {
        check_decision(policy, &input);
    }
}

/// `evaluate_structured`: an action generated from a shipped policy's
/// schema (valid, missing, null and mistyped attributes, boundary numbers,
/// evidence present and absent), starting from nothing or a shipped sample.
pub fn evaluate_structured(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(which) = u.choose_index(shipped().len()) else {
        return;
    };
    let Some(policy) = shipped().get(which) else {
        return;
    };
    let Ok(input) = gen_input(&mut u, policy.checked()) else {
        return;
    };
    check_decision(policy, &input);
}

/// `fmt_roundtrip`: arbitrary UTF-8 text that parses must format, the
/// result must parse, format to itself, and compile to the same decisions.
pub fn fmt_roundtrip(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    fmt_check("fuzz.gate", text);
}

/// `verify`: generated approvals (right and wrong digests, roles, times,
/// identities, reasons, batches) for a generated action, verified against a
/// shipped policy; or, when the bytes are a JSON array, those bytes read as
/// approvals; or, when they start with `*`, an adversarial shape (up to
/// [`ADVERSARIAL_APPROVALS`] approvals, up to 12 roles, overlapping groups,
/// look-alike identities) against a generated policy, within a time budget.
pub fn verify(data: &[u8]) {
    if let Some(rest) = data.strip_prefix(b"*") {
        let mut u = Unstructured::new(rest);
        let _ = verify_adversarial(&mut u);
        return;
    }
    if data.first() == Some(&b'[') {
        if let Ok(approvals) = serde_json::from_slice::<Vec<Approval>>(data) {
            let input = examples().first().cloned().unwrap_or(Json::Null);
            for policy in shipped() {
                let now = t0();
                check_verify(policy, &input, &approvals, now, None);
            }
        }
        return;
    }
    let mut u = Unstructured::new(data);
    let _ = verify_structured(&mut u);
}

/// `digest`: the action digest of arbitrary JSON (or, when the bytes are not
/// JSON, a generated document) is stable under key order, whitespace and
/// number spelling, and the canonical form is a fixed point. The digest
/// computed from the text (`audit::digest_text`) is the digest of the
/// parsed document, for the bytes and for the document written out.
pub fn digest(data: &[u8]) {
    use gatehouse::audit::digest_text::{DigestScratch, action_digest_text};
    use gatehouse::input::Syntax;

    // One scratch for every text: nothing may leak from one to the next.
    let mut scratch = DigestScratch::new();
    let mut check_text = |text: &str| {
        let fast = action_digest_text(text, &mut scratch);
        assert!(
            fast.len() == 71 && fast.starts_with("sha256:"),
            "not a sha256 digest: {fast}"
        );
        if let Ok(parsed) = gatehouse::input::parse(text, Syntax::Json) {
            assert_eq!(
                fast,
                action_digest(&parsed),
                "the digest from text is not the digest of the parsed document: {text:?}"
            );
        }
    };
    if let Ok(text) = std::str::from_utf8(data) {
        check_text(text);
    }
    let value = match serde_json::from_slice::<Json>(data) {
        Ok(v) => v,
        Err(_) => match wild_value(&mut Unstructured::new(data), 0) {
            Ok(v) => v,
            Err(_) => return,
        },
    };
    check_digest(&value);
    check_numbers(&value);
    check_text(&value.to_string());
    check_text(&serde_json::to_string_pretty(&value).expect("a document serializes"));
}

/// Every number's canonical spelling denotes exactly its value (read by
/// [`number_value`], independent of the digest's reader), and a number
/// changed in its last place no longer shares it: the digest never merges
/// two different numbers (issue 12, promise 2).
fn check_numbers(value: &Json) {
    match value {
        Json::Number(n) => {
            let text = n.as_str();
            let canonical = canonical_json(value);
            if let Some(exact) = number_value(text) {
                assert_eq!(
                    number_value(&canonical),
                    Some(exact),
                    "the canonical spelling {canonical} is not the value of {text}"
                );
            }
            // One more non-zero digit at the end of the digits: another value.
            let (mantissa, exponent) = text.split_at(text.find(['e', 'E']).unwrap_or(text.len()));
            let point = if mantissa.contains('.') { "" } else { "." };
            let other = format!("{mantissa}{point}1{exponent}");
            if let Ok(other) = serde_json::from_str::<Json>(&other) {
                assert_ne!(
                    canonical_json(&other),
                    canonical,
                    "{text} and {other} share a canonical spelling"
                );
            }
        }
        Json::Array(items) => items.iter().for_each(check_numbers),
        Json::Object(map) => map.values().for_each(check_numbers),
        _ => {}
    }
}

/// A JSON number's exact value as (negative, significant digits, place of
/// the first digit); zero is `(false, "", 0)`. `None` when the exponent
/// does not fit an `i128` (the digest's own tests cover those).
fn number_value(text: &str) -> Option<(bool, String, i128)> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent) = rest.split_once(['e', 'E']).unwrap_or((rest, "0"));
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let digits = all.get(lead..)?.trim_end_matches('0').to_owned();
    if digits.is_empty() {
        return Some((false, digits, 0));
    }
    let exponent: i128 = exponent.trim_start_matches('+').parse().ok()?;
    let first = exponent + i128::try_from(int.len()).ok()? - 1 - i128::try_from(lead).ok()?;
    Some((negative, digits, first))
}

// ---------------------------------------------------- parse and check ----

/// Compiles a policy set from `(name, text)` pairs. An error must carry at
/// least one error diagnostic; every diagnostic (errors and warnings) must
/// point inside its file and render.
fn check_sources(files: &[(String, String)]) -> Option<Policy> {
    match Policy::from_sources(files.iter().cloned()) {
        Ok(policy) => {
            check_diagnostics(policy.warnings(), files);
            Some(policy)
        }
        Err(diagnostics) => {
            assert!(
                diagnostics.has_errors(),
                "a policy that does not compile must say why with an error: {:?}",
                diagnostics
                    .iter()
                    .map(|d| d.code.as_str())
                    .collect::<Vec<_>>()
            );
            check_diagnostics(&diagnostics, files);
            None
        }
    }
}

fn check_diagnostics(diagnostics: &Diagnostics, files: &[(String, String)]) {
    for d in diagnostics.iter() {
        check_diagnostic(d, files);
    }
    // Rendering slices the source at the spans: it must not panic.
    let _ = diagnostics.render(false);
}

fn check_diagnostic(d: &Diagnostic, files: &[(String, String)]) {
    let code = d.code.as_str();
    assert!(
        code.len() == 5
            && code.starts_with(['E', 'W', 'L'])
            && code.bytes().skip(1).all(|b| b.is_ascii_digit()),
        "diagnostic code `{code}` is not a stable code"
    );
    assert!(!d.message.is_empty(), "{code} has no message");
    if let Some(file) = &d.file {
        // The file a diagnostic points into is one of the files given (the
        // loader may show the name as given).
        let known = files
            .iter()
            .find(|(name, text)| *name == file.name && *text == file.text);
        assert!(
            known.is_some() || files.is_empty(),
            "{code} points into `{}`, which is not one of the files",
            file.name
        );
        for label in &d.labels {
            assert!(
                label.span.start <= label.span.end
                    && file.text.get(label.span.start..label.span.end).is_some(),
                "{code} ({}): span {}..{} is not within the {}-byte source (or splits a character)",
                d.message,
                label.span.start,
                label.span.end,
                file.text.len()
            );
        }
    } else {
        assert!(
            d.labels.is_empty(),
            "{code}: labels without a file to point into"
        );
    }
    let _ = d.to_json();
    for related in &d.related {
        check_diagnostic(related, files);
    }
}

/// What a compiled policy must survive: lints (the `check` command runs
/// them), and evaluation of the empty input and of a schema-aware one.
fn exercise_policy(policy: &Policy, u: &mut Unstructured<'_>) {
    let files: Vec<(String, String)> = policy
        .checked()
        .files
        .iter()
        .map(|f| (f.name.clone(), f.text.clone()))
        .collect();
    let lints = gatehouse_cli::lint::lint(policy);
    check_diagnostics(&Diagnostics(lints), &files);
    check_decision(policy, &Json::Object(Map::new()));
    if let Ok(input) = gen_input(&mut Unstructured::new(&[]), policy.checked()) {
        check_decision(policy, &input);
    }
    if let Ok(input) = gen_input(u, policy.checked()) {
        check_decision(policy, &input);
    }
}

// ------------------------------------------------------------ decisions ----

/// The invariants of one decision.
pub fn check_decision(policy: &Policy, input: &Json) -> Decision {
    let d = policy.evaluate(input);

    // Deterministic, byte for byte.
    let again = policy.evaluate(input);
    assert_eq!(d, again, "two evaluations of one input differ");

    // It serializes, and reads back to the same JSON (audit records rely on it).
    let text = serde_json::to_string(&d).expect("a decision serializes to JSON");
    let back: Decision = serde_json::from_str(&text).expect("a decision reads back");
    assert_eq!(
        serde_json::to_string(&back).expect("serializes"),
        text,
        "a decision does not survive a JSON round trip"
    );

    // The digest is the input's digest.
    assert_eq!(
        d.action_digest.as_deref(),
        Some(action_digest(input).as_str()),
        "the decision's action_digest is not the input's digest"
    );

    // Fail closed: invalid input blocks, and says why. (A rule may name the
    // built-in code itself, `because INVALID_INPUT`: only the engine's own,
    // with no rule, means the input was refused.)
    let invalid = d
        .reasons
        .iter()
        .any(|r| r.code == "INVALID_INPUT" && r.rule.is_none());
    assert_eq!(
        invalid,
        !d.input_errors.is_empty(),
        "the engine's INVALID_INPUT without input errors (or the reverse): {text}"
    );
    if invalid {
        assert_eq!(
            d.outcome,
            Outcome::Block,
            "INVALID_INPUT must block: {text}"
        );
    }

    // Approvals: none for auto and block, some for the others; dual needs 2.
    match d.outcome {
        Outcome::Auto | Outcome::Block => assert!(
            d.approvals.is_none(),
            "{} decision with approvals: {text}",
            d.outcome
        ),
        _ => {
            let req = d.approvals.as_ref();
            assert!(
                req.is_some(),
                "{} decision without approvals: {text}",
                d.outcome
            );
            if d.outcome == Outcome::Dual {
                assert!(
                    req.is_some_and(|r| r.count >= 2),
                    "dual needs at least 2 approvals: {text}"
                );
            }
        }
    }

    // Strict mode only ever adds INVALID_INPUT.
    let strict = policy.evaluate_with(
        input,
        &EvalOptions::default().with_now(None).with_strict(true),
    );
    assert!(
        strict == d || (strict.outcome == Outcome::Block && !strict.input_errors.is_empty()),
        "strict mode changed the decision other than by refusing the input"
    );

    // The current time only dates the timeout.
    let dated = policy.evaluate_with(
        input,
        &EvalOptions::default()
            .with_now(Some(t0()))
            .with_strict(false),
    );
    assert_eq!(
        (
            dated.outcome,
            &dated.reasons,
            &dated.rules,
            &dated.approvals
        ),
        (d.outcome, &d.reasons, &d.rules, &d.approvals),
        "passing the current time changed the decision"
    );

    // Taking evidence away never makes a decision less strict (unless the
    // schema itself reads `evidence.*` attributes).
    let reads_evidence = policy
        .checked()
        .attributes
        .iter()
        .any(|a| a.segments.first().is_some_and(|s| s == "evidence"));
    if !invalid
        && !reads_evidence
        && let Some(evidence) = input.get("evidence").and_then(Json::as_object)
    {
        for key in evidence.keys().take(4) {
            let mut less = input.clone();
            if let Some(e) = less.get_mut("evidence").and_then(Json::as_object_mut) {
                e.shift_remove(key);
            }
            let fewer = policy.evaluate(&less);
            assert!(
                fewer.outcome >= d.outcome,
                "removing evidence `{key}` lowered {} to {}",
                d.outcome,
                fewer.outcome
            );
        }
    }
    d
}

// ------------------------------------------------------------- formatter ----

/// Formats `text` (when it parses) and checks the round trip.
pub fn fmt_check(name: &str, text: &str) {
    let source = SourceFile::new(name, text);
    if syntax::parse(&source).is_err() {
        assert!(
            format_source(&source).is_err(),
            "the formatter accepted text the parser refuses"
        );
        return;
    }
    let formatted = format_source(&source).unwrap_or_else(|e| {
        panic!(
            "the formatter refused text that parses:\n{}\n--- input ---\n{text}",
            e.render(false)
        )
    });
    let again = format_source(&SourceFile::new(name, formatted.clone())).unwrap_or_else(|e| {
        panic!(
            "formatted text does not format again:\n{}\n--- formatted ---\n{formatted}",
            e.render(false)
        )
    });
    assert!(
        again == formatted,
        "formatting is not idempotent\n--- input ---\n{text}\n--- once ---\n{formatted}\n--- twice ---\n{again}"
    );

    let before = Policy::from_source(name, text);
    let after = Policy::from_source(name, formatted.clone());
    match (&before, &after) {
        (Ok(a), Ok(b)) => {
            assert_eq!(
                codes(a.warnings()),
                codes(b.warnings()),
                "formatting changed the warnings\n--- formatted ---\n{formatted}"
            );
            let mut inputs = vec![Json::Object(Map::new())];
            if let Ok(i) = gen_input(&mut Unstructured::new(&[]), a.checked()) {
                inputs.push(i);
            }
            if let Ok(i) = gen_input(&mut Unstructured::new(text.as_bytes()), a.checked()) {
                inputs.push(i);
            }
            for input in &inputs {
                assert_eq!(
                    comparable(&a.evaluate(input)),
                    comparable(&b.evaluate(input)),
                    "formatting changed the decision for {input}\n--- input ---\n{text}\n--- formatted ---\n{formatted}"
                );
            }
        }
        (Err(a), Err(b)) => assert_eq!(
            codes(a),
            codes(b),
            "formatting changed the errors\n--- input ---\n{text}\n--- formatted ---\n{formatted}"
        ),
        _ => panic!(
            "the policy compiles {} formatting but not {}\n--- input ---\n{text}\n--- formatted ---\n{formatted}",
            if before.is_ok() { "before" } else { "after" },
            if before.is_ok() { "after" } else { "before" },
        ),
    }
}

fn codes(d: &Diagnostics) -> Vec<&'static str> {
    let mut c: Vec<&'static str> = d.iter().map(|d| d.code.as_str()).collect();
    c.sort_unstable();
    c
}

/// A decision without what depends on the text's layout: the policy digest
/// and the rules' `file:line:col`.
fn comparable(d: &Decision) -> Json {
    let mut v = serde_json::to_value(d).unwrap_or(Json::Null);
    if let Some(o) = v.as_object_mut() {
        o.shift_remove("policy");
        if let Some(rules) = o.get_mut("rules").and_then(Json::as_array_mut) {
            for r in rules {
                if let Some(r) = r.as_object_mut() {
                    r.shift_remove("location");
                }
            }
        }
    }
    v
}

// ---------------------------------------------------------------- verify ----

/// 2026-11-22T10:00:00Z, the fixed "now" of the generated approvals.
fn t0() -> Timestamp {
    Timestamp::parse("2026-11-22T10:00:00Z").unwrap_or(Timestamp::from_unix_nanos(0))
}

const OFFSETS: &[i64] = &[
    0,
    -1,
    1,
    -60,
    -3600,
    3600,
    -86_400,
    -86_401,
    -86_399,
    86_400,
    -4 * 3600 - 1,
    -72 * 3600 - 1,
    -7 * 86_400,
    30 * 86_400,
];

fn gen_time(u: &mut Unstructured<'_>) -> AResult<Timestamp> {
    Ok(match u.int_in_range(0..=15u8)? {
        0..=12 => t0().plus_seconds(*u.choose(OFFSETS)?),
        13 | 14 => t0().plus_seconds(i64::from(u.arbitrary::<i32>()?)),
        _ => Timestamp::from_unix_nanos(u.arbitrary::<i64>()?.into()),
    })
}

fn gen_time_text(u: &mut Unstructured<'_>) -> AResult<String> {
    Ok(match u.int_in_range(0..=9u8)? {
        0..=6 => gen_time(u)?.to_string(),
        7 => format!(" {} ", gen_time(u)?),
        8 => (*u.choose(&[
            "",
            "yesterday",
            "2026-11-22T10:00:00",
            "2026-11-22 10:00:00Z",
            "2026-11-22T11:00:00+01:00",
            "2026-11-22T09:59:59.999999999Z",
            "2026-02-30T00:00:00Z",
            "9999-12-31T23:59:60Z",
            "0000-01-01T00:00:00Z",
        ])?)
        .to_owned(),
        _ => u.arbitrary()?,
    })
}

fn verify_structured(u: &mut Unstructured<'_>) -> AResult<()> {
    let policy = u.choose(shipped())?;
    let input = gen_input(u, policy.checked())?;
    let d = policy.evaluate(&input);
    let digest = d.action_digest.clone().unwrap_or_default();

    let mut identities: Vec<String> = ["carol", "dave", "erin", "maria", "agent-runner-7", "Carol"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    if let Some(req) = &d.approvals {
        identities.extend(
            req.forbidden_approvers
                .iter()
                .filter_map(|f| f.identity.clone()),
        );
    }
    let mut roles: Vec<String> = policy
        .checked()
        .roles
        .iter()
        .map(|r| r.name.clone())
        .collect();
    roles.push("ceo".into());

    let n = u.int_in_range(0..=5u8)?;
    let mut approvals = Vec::new();
    for _ in 0..n {
        let mut approver = u.choose(&identities)?.clone();
        if u.ratio(1, 8)? {
            approver = format!(" {approver}\t");
        }
        let mut held = Vec::new();
        for _ in 0..u.int_in_range(0..=2u8)? {
            let mut r = u.choose(&roles)?.clone();
            if u.ratio(1, 10)? {
                r = format!(" {r} ");
            }
            held.push(r);
        }
        let decision = if u.ratio(1, 6)? {
            ApprovalKind::Reject
        } else {
            ApprovalKind::Approve
        };
        let reason = match u.int_in_range(0..=5u8)? {
            0 => None,
            1 => Some(String::new()),
            2 => Some(" \n".into()),
            _ => Some("checked against the order".into()),
        };
        let (action_digest, action_digests) = match u.int_in_range(0..=9u8)? {
            0..=5 => (Some(digest.clone()), Vec::new()),
            6 => (None, vec![digest.clone()]),
            7 => (None, vec![digest.clone(), "sha256:00".into()]),
            8 => (Some(digest.to_uppercase()), Vec::new()),
            _ => (Some("sha256:00".into()), Vec::new()),
        };
        let given_at = gen_time_text(u)?;
        let expires_at = if u.ratio(1, 3)? {
            Some(gen_time_text(u)?)
        } else {
            None
        };
        approvals.push(Approval {
            approver,
            roles: held,
            decision,
            reason,
            action_digest,
            action_digests,
            given_at,
            expires_at,
        });
    }
    let now = gen_time(u)?;
    let requested_at = if u.ratio(1, 3)? {
        Some(gen_time(u)?)
    } else {
        None
    };
    check_verify(policy, &input, &approvals, now, requested_at);
    Ok(())
}

/// The most approvals one adversarial `verify` input generates: far more
/// than any decision asks for, and enough that a search exponential in them
/// would never finish, while the flow answers in milliseconds.
pub const ADVERSARIAL_APPROVALS: usize = 3_000;

/// How long one adversarial verification (all the checks of
/// [`check_verify`], several verifications) may take. Generous for debug
/// builds on a loaded machine; the matching is polynomial, so a finding here
/// is a real blow-up, not noise.
const VERIFY_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// A role list for an `approve` clause: `a`, `a or b`, or `N of a, b`.
fn approve_clause(u: &mut Unstructured<'_>, roles: usize) -> AResult<String> {
    let mut picked: Vec<String> = Vec::new();
    for r in 0..roles {
        if u.ratio(1, 2)? {
            picked.push(format!("r{r}"));
        }
    }
    if picked.is_empty() {
        picked.push(format!("r{}", u.int_in_range(0..=roles.saturating_sub(1))?));
    }
    let n = u.int_in_range(1..=6u32)?;
    Ok(if n == 1 {
        format!("approve {}", picked.join(" or "))
    } else {
        format!("approve {n} of {}", picked.join(", "))
    })
}

fn verify_adversarial(u: &mut Unstructured<'_>) -> AResult<()> {
    let roles = usize::from(u.int_in_range(1..=12u8)?);
    let outcome = *u.choose(&["queue", "explicit", "dual"])?;
    let distinct = *u.choose(&[
        "",
        "distinct people",
        "distinct roles",
        "distinct people, roles",
    ])?;
    let mut text = String::from(
        "policy \"adversarial\" version \"1\"\nschema {\n  action.type: enum { go }\n  requester.id: string\n}\nreason R \"r\"\n",
    );
    for r in 0..roles {
        text.push_str(&format!("role r{r}\n"));
    }
    text.push_str(&format!(
        "tier 0 \"none\" {{ outcome auto }}\ntier 1 \"t\" {{\n  outcome {outcome}\n  {}\n  timeout 4h then reject\n  forbid approval by requester.id\n  {distinct}\n}}\n",
        approve_clause(u, roles)?
    ));
    text.push_str("rule go when action.type == go then tier 1 because R\n");
    for g in 0..u.int_in_range(0..=4u8)? {
        text.push_str(&format!(
            "rule g{g} when action.type == go then {} because R\n",
            approve_clause(u, roles)?
        ));
    }
    text.push_str("default tier 0 because R\n");
    let Ok(policy) = Policy::from_source("adversarial.gate", &text) else {
        return Ok(());
    };
    let input = serde_json::json!({"action": {"type": "go"}, "requester": {"id": "p0"}});
    let digest = policy.evaluate(&input).action_digest.unwrap_or_default();

    let people = u.int_in_range(1..=200u32)?;
    let count = usize::from(u.arbitrary::<u16>()?) % (ADVERSARIAL_APPROVALS + 1);
    // A few role sets, reused, so compression and its mapping back are
    // exercised; each approval picks one (or a fresh random one).
    let mut role_sets: Vec<Vec<String>> = Vec::new();
    for _ in 0..u.int_in_range(1..=6u8)? {
        let mut set = Vec::new();
        for r in 0..roles {
            if u.ratio(1, 3)? {
                set.push(format!("r{r}"));
            }
        }
        role_sets.push(set);
    }
    let now = t0();
    let requested = now.plus_seconds(-3600);
    let mut approvals = Vec::with_capacity(count);
    for _ in 0..count {
        let who = u.int_in_range(0..=people)?;
        // Look-alike spellings of one person.
        let approver = match u.int_in_range(0..=5u8)? {
            0 => format!("P{who}"),
            1 => format!("p{who}\u{200D}"),
            2 => format!("\u{FF50}{who}"),
            _ => format!("p{who}"),
        };
        let held = if u.ratio(1, 8)? {
            vec![format!("r{}", u.int_in_range(0..=roles)?)]
        } else {
            u.choose(&role_sets)?.clone()
        };
        let given = requested.plus_seconds(i64::from(u.int_in_range(-60..=5 * 3600i32)?));
        approvals.push(Approval {
            approver,
            roles: held,
            decision: if u.ratio(1, 500)? {
                ApprovalKind::Reject
            } else {
                ApprovalKind::Approve
            },
            reason: Some("checked".into()),
            action_digest: Some(digest.clone()),
            action_digests: Vec::new(),
            given_at: given.to_string(),
            expires_at: None,
        });
    }
    let now = if u.ratio(1, 2)? {
        now
    } else {
        now.plus_seconds(6 * 3600)
    };
    let started = std::time::Instant::now();
    check_verify(&policy, &input, &approvals, now, Some(requested));
    let took = started.elapsed();
    assert!(
        took < VERIFY_BUDGET,
        "{} approvals took {took:?}: over the budget of {VERIFY_BUDGET:?}",
        approvals.len()
    );
    Ok(())
}

/// The invariants of one verification.
pub fn check_verify(
    policy: &Policy,
    input: &Json,
    approvals: &[Approval],
    now: Timestamp,
    requested_at: Option<Timestamp>,
) -> Verification {
    let options = VerifyOptions::new(now).with_requested_at(requested_at);
    let v = policy.verify(input, approvals, &options);
    assert_eq!(
        v,
        policy.verify(input, approvals, &options),
        "two verifications differ"
    );
    let text = serde_json::to_string(&v).expect("a verification serializes");
    let d = policy.evaluate(input);
    assert_eq!(
        v.outcome, d.outcome,
        "verify decided another outcome: {text}"
    );
    assert_eq!(
        v.action_digest, d.action_digest,
        "verify used another digest"
    );

    // Refused up front: a request time after now, or too many approvals.
    let refused = requested_at.is_some_and(|r| r > now)
        || approvals.len() > gatehouse::audit::verify::MAX_APPROVALS;
    if refused {
        assert_eq!(v.verdict, Verdict::Denied, "not refused: {text}");
        assert!(v.satisfied.is_empty(), "refused but matched: {text}");
        return v;
    }
    match d.outcome {
        Outcome::Block => assert_eq!(v.verdict, Verdict::Denied, "a block verified: {text}"),
        Outcome::Auto => assert_eq!(v.verdict, Verdict::Execute, "auto needs nothing: {text}"),
        _ => {}
    }
    if v.verdict == Verdict::Expired {
        // The message is true: the approvals that count (those given before
        // the deadline) were not complete, and the deadline has passed.
        assert!(
            v.missing.approvals > 0
                || !v.missing.groups.is_empty()
                || !v.missing.evidence.is_empty(),
            "expired although complete in time: {text}"
        );
        let deadline = v.expires_at.as_deref().and_then(Timestamp::parse);
        assert!(
            deadline.is_some_and(|dl| now >= dl),
            "expired before the deadline: {text}"
        );
    }
    if v.verdict != Verdict::Execute || d.outcome == Outcome::Auto {
        return v;
    }

    // Execute: everything is there, and every counted approval is real.
    assert!(
        v.missing.approvals == 0 && v.missing.groups.is_empty() && v.missing.evidence.is_empty(),
        "execute with something missing: {text}"
    );
    assert!(
        !v.reasons
            .iter()
            .any(|r| r.code == "REJECTED" || r.code == "CONDITION_NOT_MET"),
        "execute despite a rejection or a failing condition: {text}"
    );
    let Some(req) = &d.approvals else {
        panic!(
            "execute on a {} decision without approvals: {text}",
            d.outcome
        );
    };
    assert!(
        v.satisfied.len() as u64 >= u64::from(req.count),
        "execute with {} of {} approvals: {text}",
        v.satisfied.len(),
        req.count
    );
    let digest = d.action_digest.as_deref().unwrap_or("");
    let needs_reason = matches!(d.outcome, Outcome::Explicit | Outcome::Dual);
    // Without a request time, the request is as old as the earliest
    // approval bound to this action (approvals for others never age it).
    let requested = requested_at.or_else(|| {
        approvals
            .iter()
            .filter(|a| {
                a.action_digest.as_deref() == Some(digest)
                    || a.action_digests.iter().any(|x| x == digest)
            })
            .filter_map(|a| Timestamp::parse(a.given_at.trim()))
            .min()
    });
    let deadline = match (requested, &d.timeout) {
        (Some(r), Some(t)) => Some(r.plus_seconds(t.seconds)),
        _ => None,
    };
    let ids: Vec<String> = approvals.iter().map(|a| normalize(&a.approver)).collect();
    let forbidden: Vec<String> = req
        .forbidden_approvers
        .iter()
        .filter_map(|f| f.identity.as_deref().map(normalize))
        .collect();
    for s in &v.satisfied {
        let person = normalize(&s.approver);
        let backed = approvals.iter().zip(&ids).any(|(a, id)| {
            let given = Timestamp::parse(a.given_at.trim());
            *id == person
                && a.decision == ApprovalKind::Approve
                // exactly one way of naming the action; a batch only for queue
                && ((a.action_digest.as_deref() == Some(digest) && a.action_digests.is_empty())
                    || (a.action_digest.is_none()
                        && d.outcome == Outcome::Queue
                        && a.action_digests.iter().any(|x| x == digest)))
                && (!needs_reason || a.reason.as_deref().is_some_and(|r| !is_blank(r)))
                && (req.groups.is_empty() || a.roles.iter().any(|r| r.trim() == s.role))
                // given within the request: not before it, not after now,
                // strictly before its deadline
                && given.is_some_and(|g| {
                    g <= now
                        && requested.is_none_or(|r| g >= r)
                        && deadline.is_none_or(|dl| g < dl)
                })
                && a.expires_at.as_deref().is_none_or(|e| {
                    Timestamp::parse(e.trim()).is_some_and(|e| e > now)
                })
        });
        assert!(
            backed,
            "`{}` counted without a valid approval: {text}",
            s.approver
        );
        assert!(
            !forbidden.contains(&person),
            "`{}` may not approve but counted: {text}",
            s.approver
        );
    }
    // Counts mean people: once per group always, once in total with
    // distinct people.
    let mut per_group: Vec<(usize, String)> = v
        .satisfied
        .iter()
        .map(|s| (s.group, normalize(&s.approver)))
        .collect();
    per_group.sort_unstable();
    per_group.dedup();
    assert!(
        per_group.len() == v.satisfied.len(),
        "one person counted twice toward one group: {text}"
    );
    let mut people: Vec<String> = v.satisfied.iter().map(|s| normalize(&s.approver)).collect();
    people.sort_unstable();
    people.dedup();
    if req.distinct_people || d.outcome == Outcome::Dual {
        assert!(
            people.len() == v.satisfied.len(),
            "one person counted twice: {text}"
        );
    }
    if d.outcome == Outcome::Dual {
        assert!(people.len() >= 2, "dual executed with one person: {text}");
    }
    if req.distinct_roles {
        let mut roles: Vec<&str> = v.satisfied.iter().map(|s| s.role.as_str()).collect();
        roles.sort_unstable();
        roles.dedup();
        assert!(
            roles.len() == v.satisfied.len(),
            "one role counted twice: {text}"
        );
    }
    // Without the approvals it would not execute.
    if req.count > 0 {
        let bare = policy.verify(input, &[], &options);
        assert_ne!(
            bare.verdict,
            Verdict::Execute,
            "executes without any approval"
        );
    }
    v
}

// ---------------------------------------------------------------- digest ----

/// The digest invariants of one document.
pub fn check_digest(value: &Json) {
    let digest = action_digest(value);
    assert!(
        digest.len() == 71
            && digest.starts_with("sha256:")
            && digest[7..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "not a sha256 digest: {digest}"
    );
    assert_eq!(
        digest,
        action_digest(value),
        "the digest is not deterministic"
    );

    // The canonical form is JSON, and canonical (a fixed point).
    let canonical = canonical_json(value);
    let reread: Json = serde_json::from_str(&canonical)
        .unwrap_or_else(|e| panic!("the canonical form is not JSON ({e}): {canonical}"));
    assert_eq!(
        canonical_json(&reread),
        canonical,
        "the canonical form is not canonical"
    );
    assert_eq!(
        action_digest(&reread),
        digest,
        "the canonical form digests differently"
    );

    // Key order and whitespace do not matter.
    let reordered = reverse_keys(value);
    let pretty = serde_json::to_string_pretty(&reordered).expect("serializes");
    let reread: Json = serde_json::from_str(&pretty).expect("reads back");
    assert_eq!(
        action_digest(&reread),
        digest,
        "key order or whitespace changed the digest of {value}"
    );

    // Nor does the spelling of a number.
    let respelled = respell_numbers(value);
    assert_eq!(
        action_digest(&respelled),
        digest,
        "number spelling changed the digest: {} vs {}",
        canonical_json(value),
        canonical_json(&respelled)
    );

    // A changed value does.
    let changed = Json::Array(vec![value.clone()]);
    assert_ne!(
        action_digest(&changed),
        digest,
        "wrapping did not change the digest"
    );
}

fn reverse_keys(v: &Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.iter()
                .rev()
                .map(|(k, v)| (k.clone(), reverse_keys(v)))
                .collect(),
        ),
        Json::Array(a) => Json::Array(a.iter().map(reverse_keys).collect()),
        other => other.clone(),
    }
}

/// The same numbers, spelled differently: `1` as `1.0`, `1.5` as `1.50`,
/// `1e3` as `1.0e3` / `1.50e3`.
fn respell_numbers(v: &Json) -> Json {
    match v {
        Json::Number(n) => {
            let text = n.to_string();
            let (mantissa, exponent) = match text.find(['e', 'E']) {
                Some(i) => text.split_at(i),
                None => (text.as_str(), ""),
            };
            let mantissa = if mantissa.contains('.') {
                format!("{mantissa}0")
            } else {
                format!("{mantissa}.0")
            };
            serde_json::from_str(&format!("{mantissa}{exponent}")).unwrap_or_else(|_| v.clone())
        }
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), respell_numbers(v)))
                .collect(),
        ),
        Json::Array(a) => Json::Array(a.iter().map(respell_numbers).collect()),
        other => other.clone(),
    }
}

// -------------------------------------------------------- generated inputs ----

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "49.99",
    "50",
    "999.999999999999999999",
    "1000",
    "1000.00",
    "1e3",
    "1000.000000000000000001",
    "1000.0000000000000000001",
    "2500",
    "10000",
    "10001",
    "25000",
    "1e20",
    "100000000000000000000.5",
    "1e21",
    "-1e21",
    "0.000000000000000001",
    "1e-19",
    "0.7",
    "0.69999999999999999999",
    "1.5E+3",
    "123456789012345678901234567890",
    "1e400",
    "-1e-400",
];

const STRINGS: &[&str] = &[
    "",
    " ",
    "maria",
    " maria ",
    "Maria",
    "agent-runner-7",
    "carol",
    "production",
    "prod",
    "staging",
    "refund",
    "pii",
    "é",
    "\u{0}",
    "a\"b\\c",
];

const DURATIONS: &[&str] = &[
    "24h",
    "1h30m",
    "0s",
    "90",
    "3600",
    "1d",
    "-1h",
    "1h1h",
    "99999999999999999999h",
    "h",
    "",
];

const TIMESTAMPS: &[&str] = &[
    "2026-11-22T10:00:00Z",
    "2026-11-22T10:00:00.5+01:00",
    "2026-11-22t10:00:00z",
    "2026-02-29T00:00:00Z",
    "2024-02-29T23:59:60Z",
    "2026-11-22T10:00:00",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59-23:59",
    "2026-11-22T10:00:00.123456789123Z",
];

const KEYS: &[&str] = &[
    "action",
    "type",
    "amount",
    "evidence",
    "requester",
    "id",
    "agent",
    "owner",
    "data_classes",
    "target",
    "environment",
    "customer_facing",
    "change_window",
    "open",
    "confidence",
];

fn number(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or(Json::Null)
}

/// A JSON value of (mostly) the attribute's type.
fn fit_value(u: &mut Unstructured<'_>, ty: &Type) -> AResult<Json> {
    let pick = u.int_in_range(0..=9u8)?;
    Ok(match ty {
        Type::Bool => Json::Bool(u.arbitrary()?),
        Type::Number => match pick {
            0..=5 => number(u.choose(NUMBERS)?),
            6 | 7 => Json::from(u.arbitrary::<i64>()?),
            8 => {
                let f: f64 = u.arbitrary()?;
                serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
            }
            _ => Json::String("1000".into()),
        },
        Type::String => match pick {
            0..=7 => Json::String((*u.choose(STRINGS)?).to_owned()),
            _ => Json::String(u.arbitrary()?),
        },
        Type::Duration => match pick {
            0..=6 => Json::String((*u.choose(DURATIONS)?).to_owned()),
            7 => Json::from(u.int_in_range(-5..=1_000_000i64)?),
            8 => number("1.5"),
            _ => Json::String(u.arbitrary()?),
        },
        Type::Timestamp => match pick {
            0..=7 => Json::String((*u.choose(TIMESTAMPS)?).to_owned()),
            8 => Json::from(0),
            _ => Json::String(u.arbitrary()?),
        },
        Type::Enum(values) => match pick {
            0..=7 if !values.is_empty() => Json::String(u.choose(values)?.clone()),
            8 => Json::String("unknown".into()),
            _ => Json::String(values.first().map(|v| v.to_uppercase()).unwrap_or_default()),
        },
        Type::Set(inner) => {
            let n = u.int_in_range(0..=3u8)?;
            let mut items = Vec::new();
            for _ in 0..n {
                items.push(fit_value(u, inner)?);
            }
            if pick == 9
                && let Some(first) = items.first().cloned()
            {
                items.push(first);
            }
            Json::Array(items)
        }
    })
}

/// Any JSON value, biased toward the schema's key names.
fn wild_value(u: &mut Unstructured<'_>, depth: u32) -> AResult<Json> {
    let max = if depth >= 4 { 4 } else { 6 };
    Ok(match u.int_in_range(0..=max)? {
        0 => Json::Null,
        1 => Json::Bool(u.arbitrary()?),
        2 => number(u.choose(NUMBERS)?),
        3 => match u.int_in_range(0..=1u8)? {
            0 => Json::String((*u.choose(STRINGS)?).to_owned()),
            _ => Json::String(u.arbitrary()?),
        },
        4 => Json::from(u.arbitrary::<i64>()?),
        5 => {
            let mut items = Vec::new();
            for _ in 0..u.int_in_range(0..=3u8)? {
                items.push(wild_value(u, depth + 1)?);
            }
            Json::Array(items)
        }
        _ => {
            let mut m = Map::new();
            for _ in 0..u.int_in_range(0..=4u8)? {
                let key = if u.ratio(3, 4)? {
                    (*u.choose(KEYS)?).to_owned()
                } else {
                    u.arbitrary()?
                };
                m.insert(key, wild_value(u, depth + 1)?);
            }
            Json::Object(m)
        }
    })
}

fn set_path(root: &mut Json, segments: &[String], value: Json) {
    let mut at = root;
    for (i, seg) in segments.iter().enumerate() {
        if !at.is_object() {
            *at = Json::Object(Map::new());
        }
        let Some(map) = at.as_object_mut() else {
            return;
        };
        if i + 1 == segments.len() {
            map.insert(seg.clone(), value);
            return;
        }
        at = map
            .entry(seg.clone())
            .or_insert_with(|| Json::Object(Map::new()));
    }
}

fn remove_path(root: &mut Json, segments: &[String]) {
    let Some((last, parents)) = segments.split_last() else {
        return;
    };
    let mut at = root;
    for seg in parents {
        match at.get_mut(seg) {
            Some(next) => at = next,
            None => return,
        }
    }
    if let Some(m) = at.as_object_mut() {
        m.shift_remove(last);
    }
}

/// An action for `set`: from nothing or a shipped sample, every attribute
/// set to a fitting value, kept, removed, nulled or set to anything; each
/// evidence field present in some form or absent; maybe an undeclared field.
/// With no data left it gives every attribute a fitting value.
pub fn gen_input(u: &mut Unstructured<'_>, set: &PolicySet) -> AResult<Json> {
    let mut root = match u.int_in_range(0..=3u8)? {
        0 | 1 => Json::Object(Map::new()),
        _ => u.choose(examples())?.clone(),
    };
    for attr in &set.attributes {
        match u.int_in_range(0..=11u8)? {
            0..=6 => set_path(&mut root, &attr.segments, fit_value(u, &attr.ty)?),
            7 | 8 => {}
            9 => remove_path(&mut root, &attr.segments),
            10 => set_path(&mut root, &attr.segments, Json::Null),
            _ => set_path(&mut root, &attr.segments, wild_value(u, 2)?),
        }
    }
    for e in &set.evidence {
        let value = match u.int_in_range(0..=12u8)? {
            0..=3 => Json::String("attached".into()),
            4 => continue,
            5 => {
                remove_path(&mut root, &["evidence".to_owned(), e.name.clone()]);
                continue;
            }
            6 => Json::Null,
            7 => Json::Bool(false),
            8 => Json::Bool(true),
            9 => Json::String(" \t".into()),
            10 => Json::Array(Vec::new()),
            11 => Json::Object(Map::new()),
            _ => wild_value(u, 3)?,
        };
        set_path(&mut root, &["evidence".to_owned(), e.name.clone()], value);
    }
    if u.ratio(1, 8)? {
        let key = (*u.choose(KEYS)?).to_owned();
        let value = wild_value(u, 2)?;
        set_path(&mut root, &["action".to_owned(), format!("x_{key}")], value);
    }
    if u.ratio(1, 16)? {
        root = wild_value(u, 0)?;
    }
    Ok(root)
}

// ------------------------------------------------------ generated policies ----

/// A pool of words: the usual ones, and the tricky ones (keywords as names,
/// conflicting paths, out-of-range literals) taken only for a byte >= 250,
/// so that most generated policies still compile.
type Pool = (&'static [&'static str], &'static [&'static str]);

fn pk(pool: Pool, i: u8) -> &'static str {
    if i >= 250 && !pool.1.is_empty() {
        pick(pool.1, i)
    } else {
        pick(pool.0, i)
    }
}

const ATTR_PATHS: Pool = (
    &[
        "action.type",
        "action.amount",
        "action.customer_facing",
        "action.data_classes",
        "action.target",
        "requester.id",
        "agent.owner",
        "change_window.open",
        "action.deadline",
        "action.elapsed",
        "x",
        "a.b-c.d_e",
        "note.x",
    ],
    &["action", "evidence.diff", "requester"],
);
const ENUM_VALUES: &[&str] = &[
    "read",
    "draft",
    "send",
    "refund",
    "production",
    "pii",
    "public",
    "approve",
    "auto",
    "a-b",
    "x_1",
    "tier",
];
const ROLE_NAMES: Pool = (
    &[
        "support_lead",
        "finance_approver",
        "finance_director",
        "dpo",
        "sre-oncall",
        "_r",
        "reviewer",
    ],
    &["approve", "tier"],
);
const EVIDENCE_NAMES: Pool = (
    &[
        "diff",
        "impact_estimate",
        "source_citation",
        "customer_record",
        "e-1",
    ],
    &["because", "and"],
);
const REASON_CODES: &[&str] = &["REFUND", "PII", "LARGE_2", "A", "PROD", "X_9"];
/// The engine's own codes: declaring one is an error, naming one is not.
const BUILTIN_REASONS: &[&str] = &[
    "NO_RULE_MATCHED",
    "INVALID_INPUT",
    "EVIDENCE_MISSING",
    "APPROVER_ESCALATED",
];
const RULE_NAMES: &[&str] = &[
    "refund",
    "personal_data",
    "r1",
    "large-refund",
    "deploy",
    "when",
];
/// Already escaped for a `.gate` string.
const GATE_STRINGS: &[&str] = &[
    "",
    "x",
    "refunds",
    "2026.11.1",
    "a \\\"quoted\\\" word",
    "line\\nbreak",
    "tab\\t",
    "back\\\\slash",
    "é ü 😀",
    "human-supervised execution",
    "2026-11-22T10:00:00Z",
    "maria",
];
const REGEXES: &[&str] = &[
    "^refund",
    "(a|b)*c$",
    ".*",
    "[",
    "\\\\d+",
    "(?i)PII",
    "a{2,1}",
    "^(a+)+$",
    "x{1000}{1000}",
    "",
];
const GATE_NUMBERS: Pool = (
    &[
        "0",
        "1",
        "-1",
        "50",
        "1000",
        "1000.00",
        "10_000",
        "0.7",
        "99999999999999999999",
        "100000000000000000000",
        "0.000000000000000001",
        "-0",
        "1_0.5_0",
        "007",
    ],
    &["100000000000000000001", "0.0000000000000000001"],
);
const GATE_DURATIONS: Pool = (
    &["24h", "1h30m", "0s", "90s", "1d2h30m", "7d", "4h"],
    &["99999999999999999999d", "1m1m", "1s2d"],
);
const OUTCOMES: Pool = (
    &["auto", "queue", "explicit", "dual", "block"],
    &["execute", "allow"],
);
const SCALARS: &[&str] = &["bool", "number", "string", "duration", "timestamp"];

/// A policy set: a header, declarations, separators (spaces, line breaks,
/// comments), maybe split over two files.
#[derive(Debug)]
pub struct GPolicy {
    header: GHeader,
    schema: Vec<GAttr>,
    decls: Vec<GDecl>,
    trivia: Vec<u8>,
}

/// Sized by hand: a derived `Vec` has about one element, and a policy
/// needs a schema, roles, tiers and several rules to be interesting.
impl<'a> Arbitrary<'a> for GPolicy {
    fn arbitrary(u: &mut Unstructured<'a>) -> AResult<Self> {
        let header = u.arbitrary()?;
        let mut schema = Vec::new();
        for _ in 0..u.int_in_range(1..=8u8)? {
            schema.push(u.arbitrary()?);
        }
        let mut decls = Vec::new();
        for _ in 0..u.int_in_range(0..=24u8)? {
            decls.push(u.arbitrary()?);
        }
        let n = u.int_in_range(0..=48usize)?;
        let trivia = u.bytes(n.min(u.len()))?.to_vec();
        Ok(GPolicy {
            header,
            schema,
            decls,
            trivia,
        })
    }
}

#[derive(Arbitrary, Debug)]
struct GHeader {
    omit: u8,
    name: GStr,
    version: GStr,
    combine: Option<bool>,
    description: Option<GStr>,
}

#[derive(Arbitrary, Debug)]
struct GDecl {
    file: u8,
    item: GItem,
}

#[derive(Debug)]
enum GItem {
    Schema(Vec<GAttr>),
    Evidence(Vec<u8>),
    Role(GRole),
    Reason(u8, GStr),
    Tier(GTier),
    Rule(GRule),
    Default(Vec<GConseq>, Vec<u8>),
    Junk(u8),
}

impl<'a> Arbitrary<'a> for GItem {
    fn arbitrary(u: &mut Unstructured<'a>) -> AResult<Self> {
        Ok(match u.int_in_range(0..=63u8)? {
            0..=5 => GItem::Schema(u.arbitrary()?),
            6..=11 => GItem::Evidence(u.arbitrary()?),
            12..=19 => GItem::Role(u.arbitrary()?),
            20..=27 => GItem::Reason(u.arbitrary()?, u.arbitrary()?),
            28..=37 => GItem::Tier(u.arbitrary()?),
            38..=59 => GItem::Rule(u.arbitrary()?),
            60..=62 => GItem::Default(u.arbitrary()?, u.arbitrary()?),
            _ => GItem::Junk(u.arbitrary()?),
        })
    }
}

#[derive(Arbitrary, Debug)]
struct GAttr {
    path: u8,
    ty: GType,
    optional: bool,
}

#[derive(Arbitrary, Debug)]
enum GType {
    Scalar(u8),
    Enum(Vec<u8>),
    SetEnum(Vec<u8>),
    SetScalar(u8),
}

#[derive(Arbitrary, Debug)]
enum GStr {
    Pool(u8),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum GNum {
    Pool(u8),
    Int(i64),
    Frac(i64, u8),
}

#[derive(Arbitrary, Debug)]
enum GDur {
    Pool(u8),
    Parts(Vec<(u16, u8)>),
}

#[derive(Arbitrary, Debug)]
struct GRole {
    name: u8,
    title: Option<GStr>,
    limit: Option<(u8, bool, GNum)>,
    escalate: Option<(u8, bool)>,
}

#[derive(Arbitrary, Debug)]
struct GTier {
    id: u8,
    name: GStr,
    /// The `outcome` clause, first (a tier without one is an error: 251).
    outcome: u8,
    clauses: Vec<GClause>,
}

#[derive(Arbitrary, Debug)]
enum GClause {
    Outcome(u8),
    Approve(GApprovers),
    Evidence(Vec<u8>, Option<u8>),
    Timeout(GDur, GExpiry),
    Forbid(Vec<u8>),
    Distinct(u8),
    RequireText(GStr),
    RequireExpr(GExpr),
}

#[derive(Arbitrary, Debug)]
enum GApprovers {
    One(u8),
    All(Vec<u8>),
    Any(Vec<u8>),
    Count(u8, Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum GExpiry {
    Escalate(u8, bool),
    Reject,
    Block,
    Approve(u8),
}

#[derive(Arbitrary, Debug)]
struct GRule {
    name: u8,
    description: Option<GStr>,
    when: GExpr,
    unless: Vec<GExpr>,
    then: Vec<GConseq>,
    because: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
enum GConseq {
    Tier(u8),
    AtLeast(u8),
    Raise(u8),
    Evidence(Vec<u8>),
    Approve(GApprovers),
}

#[derive(Debug)]
enum GExpr {
    Pred(u8, GTest),
    /// A test that fits the attribute's type.
    Typed(u8, u8),
    Not(Box<GExpr>),
    And(Vec<GExpr>),
    Or(Vec<GExpr>),
    Paren(Box<GExpr>),
}

/// Mostly tests that fit the attribute's type, so that rules compile and
/// reach the evaluator; sometimes any test, for the checker's errors.
impl<'a> Arbitrary<'a> for GExpr {
    fn arbitrary(u: &mut Unstructured<'a>) -> AResult<Self> {
        Ok(match u.int_in_range(0..=15u8)? {
            0..=8 => GExpr::Typed(u.arbitrary()?, u.arbitrary()?),
            9 => GExpr::Pred(u.arbitrary()?, u.arbitrary()?),
            10 => GExpr::Not(Box::new(u.arbitrary()?)),
            11 | 12 => GExpr::And(u.arbitrary()?),
            13 | 14 => GExpr::Or(u.arbitrary()?),
            _ => GExpr::Paren(Box::new(u.arbitrary()?)),
        })
    }
}

#[derive(Arbitrary, Debug)]
enum GTest {
    Bare,
    Cmp(u8, GVal),
    In(Vec<GVal>),
    NotIn(Vec<GVal>),
    Contains(GVal),
    ContainsAny(Vec<GVal>),
    ContainsAll(Vec<GVal>),
    Matches(u8),
    StartsWith(GStr),
    EndsWith(GStr),
    Exists,
    Missing,
}

#[derive(Arbitrary, Debug)]
enum GVal {
    Fit(u8),
    Num(GNum),
    Str(GStr),
    Dur(GDur),
    Bool(bool),
    Ident(u8),
    Attr(u8),
}

/// What a value must fit: the declared type of an attribute.
#[derive(Clone, Debug)]
enum GKind {
    Scalar(&'static str),
    Enum(Vec<&'static str>),
    Set(Box<GKind>),
}

fn pick<'a>(pool: &[&'a str], i: u8) -> &'a str {
    pool.get(usize::from(i) % pool.len().max(1))
        .copied()
        .unwrap_or("x")
}

/// The text being written: words separated by trivia.
struct Out<'a> {
    text: String,
    trivia: &'a [u8],
    next: usize,
}

impl Out<'_> {
    fn sep(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let b = self.trivia.get(self.next).copied();
        self.next += 1;
        let s = match b {
            None | Some(0..=199) => " ",
            Some(200..=224) => "\n  ",
            Some(225..=239) => "  # note\n  ",
            Some(240..=244) => "\t",
            Some(245..=249) => "\r\n",
            Some(250..=252) => "\n\n",
            _ => " #\n",
        };
        self.text.push_str(s);
    }

    fn word(&mut self, w: &str) {
        self.sep();
        self.text.push_str(w);
    }

    fn newline(&mut self) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
    }
}

/// The declared names, so references mostly resolve; what was already
/// declared, so declarations are mostly not duplicates.
struct Ctx {
    attrs: Vec<(&'static str, GKind)>,
    tiers: Vec<u32>,
    roles: Vec<&'static str>,
    evidence: Vec<&'static str>,
    reasons: Vec<&'static str>,
    declared: std::cell::RefCell<std::collections::HashSet<String>>,
    rule_no: std::cell::Cell<usize>,
}

impl Ctx {
    /// Whether `key` is declared for the first time (or `again` allows a
    /// duplicate).
    fn first(&self, key: String, again: bool) -> bool {
        self.declared.borrow_mut().insert(key) || again
    }
}

/// A declared name (mostly), or any name of the pool.
fn declared(list: &[&'static str], pool: Pool, i: u8) -> &'static str {
    if list.is_empty() || i >= 250 {
        pk(pool, i)
    } else {
        pick(list, i)
    }
}

fn reason_code(code: u8) -> &'static str {
    if code >= 240 {
        pick(BUILTIN_REASONS, code)
    } else {
        pick(REASON_CODES, code)
    }
}

impl GStr {
    fn render(&self) -> String {
        let body = match self {
            GStr::Pool(i) => pick(GATE_STRINGS, *i).to_owned(),
            GStr::Raw(s) => {
                let mut out = String::new();
                for c in s.chars().take(40) {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        c => out.push(c),
                    }
                }
                out
            }
        };
        format!("\"{body}\"")
    }
}

impl GNum {
    fn render(&self) -> String {
        match self {
            GNum::Pool(i) => pk(GATE_NUMBERS, *i).to_owned(),
            GNum::Int(i) => i.to_string(),
            GNum::Frac(m, s) => {
                let digits = m.unsigned_abs().to_string();
                let scale = usize::from(*s % 22);
                let padded = format!("{digits:0>width$}", width = scale + 1);
                let (int, frac) = padded.split_at(padded.len() - scale);
                let sign = if *m < 0 { "-" } else { "" };
                if frac.is_empty() {
                    format!("{sign}{int}")
                } else {
                    format!("{sign}{int}.{frac}")
                }
            }
        }
    }
}

impl GDur {
    fn render(&self) -> String {
        match self {
            GDur::Pool(i) => pk(GATE_DURATIONS, *i).to_owned(),
            GDur::Parts(parts) => {
                // each unit at most once, largest first
                let mut amounts: [Option<u16>; 4] = [None; 4];
                for (n, unit) in parts.iter().take(4) {
                    amounts[usize::from(*unit % 4)] = Some(*n);
                }
                let s: String = amounts
                    .iter()
                    .zip(["d", "h", "m", "s"])
                    .filter_map(|(n, u)| n.map(|n| format!("{n}{u}")))
                    .collect();
                if s.is_empty() { "24h".into() } else { s }
            }
        }
    }
}

impl GType {
    fn kind(&self) -> GKind {
        let values = |v: &Vec<u8>| -> Vec<&'static str> {
            let mut values: Vec<&'static str> = Vec::new();
            for i in v.iter().take(6) {
                // duplicates only when asked for
                if *i == 251 || !values.contains(&pick(ENUM_VALUES, *i)) {
                    values.push(pick(ENUM_VALUES, *i));
                }
            }
            if values.is_empty() {
                values.push(ENUM_VALUES[0]);
            }
            values
        };
        match self {
            GType::Scalar(i) => GKind::Scalar(pick(SCALARS, *i)),
            GType::Enum(v) => GKind::Enum(values(v)),
            GType::SetEnum(v) => GKind::Set(Box::new(GKind::Enum(values(v)))),
            // only sets of strings (and enums) exist; other sets now and then
            GType::SetScalar(i) if *i >= 240 => {
                GKind::Set(Box::new(GKind::Scalar(pick(SCALARS, *i))))
            }
            GType::SetScalar(_) => GKind::Set(Box::new(GKind::Scalar("string"))),
        }
    }
}

fn render_kind(out: &mut Out<'_>, k: &GKind) {
    match k {
        GKind::Scalar(s) => out.word(s),
        GKind::Enum(values) => {
            out.word("enum");
            out.word("{");
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.word(",");
                }
                out.word(v);
            }
            out.word("}");
        }
        GKind::Set(inner) => {
            out.word("set");
            out.word("of");
            render_kind(out, inner);
        }
    }
}

impl GPolicy {
    /// The policy set as `(file name, text)` pairs.
    pub fn render(&self) -> Vec<(String, String)> {
        let mut ctx = Ctx {
            attrs: Vec::new(),
            tiers: Vec::new(),
            roles: Vec::new(),
            evidence: Vec::new(),
            reasons: vec!["NO_RULE_MATCHED"],
            declared: Default::default(),
            rule_no: Default::default(),
        };
        let add_attrs = |ctx: &mut Ctx, attrs: &[GAttr]| {
            for a in attrs {
                let path = pk(ATTR_PATHS, a.path);
                if !ctx.attrs.iter().any(|(p, _)| *p == path) {
                    ctx.attrs.push((path, a.ty.kind()));
                }
            }
        };
        add_attrs(&mut ctx, &self.schema);
        for d in &self.decls {
            match &d.item {
                GItem::Schema(attrs) => add_attrs(&mut ctx, attrs),
                GItem::Tier(t) => ctx.tiers.push(tier_id(t.id)),
                GItem::Role(r) => ctx.roles.push(pk(ROLE_NAMES, r.name)),
                GItem::Evidence(list) => ctx
                    .evidence
                    .extend(list.iter().map(|e| pk(EVIDENCE_NAMES, *e))),
                GItem::Reason(code, _) => ctx.reasons.push(reason_code(*code)),
                _ => {}
            }
        }
        let mut main = Out {
            text: String::new(),
            trivia: &self.trivia,
            next: 0,
        };
        let mut extra = Out {
            text: String::new(),
            trivia: &self.trivia,
            next: self.trivia.len() / 2,
        };
        if self.header.omit < 250 {
            self.header.render(&mut main);
        }
        if !self.schema.is_empty() {
            main.newline();
            GItem::render_schema(&mut main, &ctx, &self.schema);
        }
        for d in &self.decls {
            let out = if d.file >= 224 { &mut extra } else { &mut main };
            out.newline();
            d.item.render(out, &ctx);
        }
        main.newline();
        let mut files = vec![("main.gate".to_owned(), main.text)];
        if !extra.text.is_empty() {
            extra.newline();
            files.push(("extra.gate".to_owned(), extra.text));
        }
        files
    }
}

fn tier_id(id: u8) -> u32 {
    if id < 240 {
        u32::from(id % 6)
    } else {
        u32::from(id) * 1000
    }
}

impl GHeader {
    fn render(&self, out: &mut Out<'_>) {
        out.word("policy");
        out.word(&self.name.render());
        out.word("version");
        out.word(&self.version.render());
        if let Some(first_match) = self.combine {
            out.word("combine");
            out.word(if first_match {
                "first-match"
            } else {
                "strictest"
            });
        }
        if let Some(d) = &self.description {
            out.word("description");
            out.word(&d.render());
        }
    }
}

fn names(out: &mut Out<'_>, pool: Pool, list: &[u8]) {
    let list = if list.is_empty() { &[0u8][..] } else { list };
    for (i, n) in list.iter().take(5).enumerate() {
        if i > 0 {
            out.word(",");
        }
        out.word(pk(pool, *n));
    }
}

/// A declared attribute of a scalar type (an identity is a string, a limit
/// reads a number), else any.
fn attr_of(ctx: &Ctx, i: u8, scalar: &str) -> Option<&'static str> {
    let fitting: Vec<&'static str> = ctx
        .attrs
        .iter()
        .filter(|(_, k)| matches!(k, GKind::Scalar(s) if *s == scalar))
        .map(|(p, _)| *p)
        .collect();
    if i >= 250 {
        Some(attr(ctx, i).0)
    } else if fitting.is_empty() {
        None
    } else {
        Some(pick(&fitting, i))
    }
}

fn attr(ctx: &Ctx, i: u8) -> (&'static str, Option<&GKind>) {
    if ctx.attrs.is_empty() || i >= 250 {
        (pk(ATTR_PATHS, i), None)
    } else {
        let (p, k) = &ctx.attrs[usize::from(i) % ctx.attrs.len()];
        (p, Some(k))
    }
}

impl GItem {
    fn render(&self, out: &mut Out<'_>, ctx: &Ctx) {
        match self {
            GItem::Schema(attrs) => Self::render_schema(out, ctx, attrs),
            GItem::Evidence(list) => {
                let list: Vec<u8> = list
                    .iter()
                    .copied()
                    .filter(|e| {
                        ctx.first(format!("evidence {}", pk(EVIDENCE_NAMES, *e)), *e == 251)
                    })
                    .collect();
                if list.is_empty() {
                    return;
                }
                out.word("evidence");
                out.word("{");
                names(out, EVIDENCE_NAMES, &list);
                out.word("}");
            }
            GItem::Role(r) => {
                if !ctx.first(format!("role {}", pk(ROLE_NAMES, r.name)), r.name == 251) {
                    return;
                }
                out.word("role");
                out.word(pk(ROLE_NAMES, r.name));
                if let Some(t) = &r.title {
                    out.word(&t.render());
                }
                if let Some((a, inclusive, n)) = &r.limit
                    && let Some(path) = attr_of(ctx, *a, "number")
                {
                    out.word("limit");
                    out.word(path);
                    out.word(if *inclusive { "<=" } else { "<" });
                    out.word(&n.render());
                }
                if let Some((to, with_to)) = r.escalate {
                    let target = declared(&ctx.roles, ROLE_NAMES, to);
                    // escalating to itself is an error: now and then
                    if target != pk(ROLE_NAMES, r.name) || to == 251 {
                        out.word("escalate");
                        if with_to {
                            out.word("to");
                        }
                        out.word(target);
                    }
                }
            }
            GItem::Reason(code, message) => {
                if !ctx.first(format!("reason {}", reason_code(*code)), *code == 251) {
                    return;
                }
                out.word("reason");
                out.word(reason_code(*code));
                out.word(&message.render());
            }
            GItem::Tier(t) => {
                if !ctx.first(format!("tier {}", tier_id(t.id)), t.name.is_raw()) {
                    return;
                }
                out.word("tier");
                out.word(&tier_id(t.id).to_string());
                out.word(&t.name.render());
                out.word("{");
                if t.outcome != 251 {
                    out.word("outcome");
                    out.word(pk(OUTCOMES, t.outcome));
                }
                for c in t.clauses.iter().take(10) {
                    c.render(out, ctx);
                }
                out.word("}");
            }
            GItem::Rule(r) => {
                out.word("rule");
                let n = ctx.rule_no.get();
                ctx.rule_no.set(n + 1);
                if r.name >= 240 {
                    out.word(pick(RULE_NAMES, r.name));
                } else {
                    out.word(&format!("{}_{n}", pick(RULE_NAMES, r.name)));
                }
                if let Some(d) = &r.description {
                    out.word(&d.render());
                }
                out.word("when");
                r.when.render(out, ctx, 0);
                for e in r.unless.iter().take(3) {
                    out.word("unless");
                    e.render(out, ctx, 0);
                }
                out.word("then");
                consequences(out, ctx, &r.then);
                because(out, ctx, &r.because);
            }
            GItem::Default(then, why) => {
                if !ctx.first("default".into(), why.len() > 3) {
                    return;
                }
                out.word("default");
                consequences(out, ctx, then);
                because(out, ctx, why);
            }
            GItem::Junk(i) => out.word(pick(
                &[
                    "}",
                    "{",
                    "rule",
                    "tier 1",
                    "\"unterminated",
                    "#",
                    "(",
                    "when x",
                    "==",
                    ",",
                    "\u{feff}",
                    "policy",
                    "then",
                    "é",
                    "\"\\q\"",
                ],
                *i,
            )),
        }
    }
}

impl GItem {
    fn render_schema(out: &mut Out<'_>, ctx: &Ctx, attrs: &[GAttr]) {
        out.word("schema");
        out.word("{");
        for a in attrs.iter().take(12) {
            let path = pk(ATTR_PATHS, a.path);
            if !ctx.first(format!("attribute {path}"), a.path == 251) {
                continue;
            }
            out.word(path);
            out.word(":");
            render_kind(out, &a.ty.kind());
            if a.optional {
                out.word("?");
            }
        }
        out.word("}");
    }
}

impl GStr {
    fn is_raw(&self) -> bool {
        matches!(self, GStr::Raw(_))
    }
}

fn because(out: &mut Out<'_>, ctx: &Ctx, codes: &[u8]) {
    if codes.is_empty() {
        return;
    }
    out.word("because");
    for (i, c) in codes.iter().take(3).enumerate() {
        if i > 0 {
            out.word(",");
        }
        out.word(if *c >= 240 {
            reason_code(*c)
        } else {
            declared(&ctx.reasons, (REASON_CODES, BUILTIN_REASONS), *c)
        });
    }
}

fn consequences(out: &mut Out<'_>, ctx: &Ctx, list: &[GConseq]) {
    let fallback = [GConseq::Raise(1)];
    let list = if list.is_empty() { &fallback[..] } else { list };
    let (mut tier, mut raise) = (false, false);
    let mut first = true;
    for c in list.iter().take(4) {
        // two tiers, or two raises, in one list are errors: now and then
        match c {
            GConseq::Tier(t) if tier && *t != 251 => continue,
            GConseq::AtLeast(o) | GConseq::Raise(o) if raise && *o != 251 => continue,
            GConseq::Tier(_) => tier = true,
            GConseq::AtLeast(_) | GConseq::Raise(_) => raise = true,
            _ => {}
        }
        // references to nothing declared are errors: now and then
        match c {
            GConseq::Evidence(l) if ctx.evidence.is_empty() && l.first() != Some(&251) => continue,
            GConseq::Approve(_) if ctx.roles.is_empty() && !tier => continue,
            _ => {}
        }
        if !first {
            out.word(",");
        }
        first = false;
        match c {
            GConseq::Tier(t) => {
                out.word("tier");
                let id = if ctx.tiers.is_empty() || *t >= 250 {
                    u32::from(*t)
                } else {
                    ctx.tiers[usize::from(*t) % ctx.tiers.len()]
                };
                out.word(&id.to_string());
            }
            GConseq::AtLeast(o) => {
                out.word("at");
                out.word("least");
                out.word(pk(OUTCOMES, *o));
            }
            GConseq::Raise(o) => out.word(pk(OUTCOMES, *o)),
            GConseq::Evidence(list) => {
                out.word("evidence");
                evidence_refs(out, ctx, list);
            }
            GConseq::Approve(a) => {
                out.word("approve");
                a.render(out, ctx);
            }
        }
    }
    if first {
        out.word("queue");
    }
}

fn evidence_refs(out: &mut Out<'_>, ctx: &Ctx, list: &[u8]) {
    let list = if list.is_empty() { &[0u8][..] } else { list };
    for (i, n) in list.iter().take(4).enumerate() {
        if i > 0 {
            out.word(",");
        }
        out.word(declared(&ctx.evidence, EVIDENCE_NAMES, *n));
    }
}

/// Declared roles (mostly), each once (mostly).
fn role_list(ctx: &Ctx, list: &[u8], at_least: usize) -> Vec<&'static str> {
    let mut roles: Vec<&'static str> = Vec::new();
    for n in list.iter().take(4) {
        let r = declared(&ctx.roles, ROLE_NAMES, *n);
        if !roles.contains(&r) || *n == 251 {
            roles.push(r);
        }
    }
    let mut k = 0u8;
    while roles.len() < at_least && k < 8 {
        let r = declared(&ctx.roles, ROLE_NAMES, k);
        if !roles.contains(&r) || k == 7 {
            roles.push(r);
        }
        k += 1;
    }
    roles
}

fn role_refs(out: &mut Out<'_>, ctx: &Ctx, list: &[u8]) {
    for (i, r) in role_list(ctx, list, 1).iter().enumerate() {
        if i > 0 {
            out.word(",");
        }
        out.word(r);
    }
}

impl GApprovers {
    fn render(&self, out: &mut Out<'_>, ctx: &Ctx) {
        let joined = |out: &mut Out<'_>, list: &[u8], sep: &str| {
            for (i, r) in role_list(ctx, list, 2).iter().enumerate() {
                if i > 0 {
                    out.word(sep);
                }
                out.word(r);
            }
        };
        match self {
            GApprovers::One(n) => out.word(declared(&ctx.roles, ROLE_NAMES, *n)),
            GApprovers::All(list) => joined(out, list, "and"),
            GApprovers::Any(list) => joined(out, list, "or"),
            GApprovers::Count(n, list) => {
                out.word(&(n % 5).to_string());
                out.word("of");
                role_refs(out, ctx, list);
            }
        }
    }
}

impl GClause {
    fn render(&self, out: &mut Out<'_>, ctx: &Ctx) {
        match self {
            GClause::Evidence(l, _) if ctx.evidence.is_empty() && l.first() != Some(&251) => {}
            GClause::Approve(_) if ctx.roles.is_empty() => {}
            // a second `outcome` line is an error: now and then
            GClause::Outcome(o) if *o != 251 => {}
            GClause::Outcome(o) => {
                out.word("outcome");
                out.word(pk(OUTCOMES, *o));
            }
            GClause::Approve(a) => {
                out.word("approve");
                a.render(out, ctx);
            }
            GClause::Evidence(list, otherwise) => {
                out.word("evidence");
                evidence_refs(out, ctx, list);
                if let Some(o) = otherwise {
                    out.word("otherwise");
                    out.word(pk(OUTCOMES, *o));
                }
            }
            GClause::Timeout(d, expiry) => {
                out.word("timeout");
                out.word(&d.render());
                out.word("then");
                match expiry {
                    GExpiry::Escalate(r, with_to) => {
                        out.word("escalate");
                        if *with_to {
                            out.word("to");
                        }
                        out.word(declared(&ctx.roles, ROLE_NAMES, *r));
                    }
                    GExpiry::Reject => out.word("reject"),
                    GExpiry::Block => out.word("block"),
                    GExpiry::Approve(w) => {
                        out.word(pick(&["approve", "auto", "allow", "execute"], *w))
                    }
                }
            }
            GClause::Forbid(list) => {
                let list = if list.is_empty() { &[0u8][..] } else { list };
                let mut paths: Vec<&str> = Vec::new();
                for a in list.iter().take(3) {
                    if let Some(p) = attr_of(ctx, *a, "string")
                        && (!paths.contains(&p) || *a == 251)
                    {
                        paths.push(p);
                    }
                }
                if paths.is_empty() {
                    return;
                }
                out.word("forbid");
                out.word("approval");
                out.word("by");
                for (i, p) in paths.iter().enumerate() {
                    if i > 0 {
                        out.word(",");
                    }
                    out.word(p);
                }
            }
            GClause::Distinct(k) => {
                out.word("distinct");
                out.word(pick(
                    &["people", "roles", "people, roles", "roles, people"],
                    *k,
                ));
            }
            GClause::RequireText(s) => {
                out.word("require");
                out.word(&s.render());
            }
            GClause::RequireExpr(e) => {
                out.word("require");
                e.render(out, ctx, 0);
            }
        }
    }
}

impl GExpr {
    fn render(&self, out: &mut Out<'_>, ctx: &Ctx, depth: u32) {
        if depth > 6 {
            out.word(attr(ctx, 0).0);
            out.word("exists");
            return;
        }
        match self {
            GExpr::Pred(a, test) => {
                let (path, kind) = attr(ctx, *a);
                out.word(path);
                test.render(out, ctx, kind);
            }
            GExpr::Typed(a, choice) => {
                let (path, kind) = attr(ctx, *a);
                out.word(path);
                typed_test(out, kind, *choice);
            }
            GExpr::Not(e) => {
                out.word("not");
                e.render_operand(out, ctx, depth + 1);
            }
            GExpr::And(list) | GExpr::Or(list) => {
                let op = if matches!(self, GExpr::And(_)) {
                    "and"
                } else {
                    "or"
                };
                if list.is_empty() {
                    out.word(attr(ctx, 0).0);
                    out.word("exists");
                    return;
                }
                for (i, e) in list.iter().take(5).enumerate() {
                    if i > 0 {
                        out.word(op);
                    }
                    e.render_operand(out, ctx, depth + 1);
                }
            }
            GExpr::Paren(e) => {
                out.word("(");
                e.render(out, ctx, depth + 1);
                out.word(")");
            }
        }
    }

    /// An operand of `and`/`or`/`not`: lists in parentheses, so the text
    /// means what the tree says.
    fn render_operand(&self, out: &mut Out<'_>, ctx: &Ctx, depth: u32) {
        match self {
            GExpr::And(l) | GExpr::Or(l) if l.len() > 1 => {
                out.word("(");
                self.render(out, ctx, depth);
                out.word(")");
            }
            _ => self.render(out, ctx, depth),
        }
    }
}

impl GTest {
    fn render(&self, out: &mut Out<'_>, ctx: &Ctx, kind: Option<&GKind>) {
        let list = |out: &mut Out<'_>, values: &[GVal]| {
            out.word("[");
            for (i, v) in values.iter().take(5).enumerate() {
                if i > 0 {
                    out.word(",");
                }
                v.render(out, ctx, kind, false);
            }
            out.word("]");
        };
        match self {
            GTest::Bare => {}
            GTest::Cmp(op, v) => {
                out.word(pick(&["==", "!=", "<", "<=", ">", ">="], *op));
                v.render(out, ctx, kind, true);
            }
            GTest::In(values) => {
                out.word("in");
                list(out, values);
            }
            GTest::NotIn(values) => {
                out.word("not");
                out.word("in");
                list(out, values);
            }
            GTest::Contains(v) => {
                out.word("contains");
                v.render(out, ctx, kind, false);
            }
            GTest::ContainsAny(values) => {
                out.word("contains");
                out.word("any");
                list(out, values);
            }
            GTest::ContainsAll(values) => {
                out.word("contains");
                out.word("all");
                list(out, values);
            }
            GTest::Matches(r) => {
                out.word("matches");
                out.word(&format!("\"{}\"", pick(REGEXES, *r)));
            }
            GTest::StartsWith(s) => {
                out.word("starts_with");
                out.word(&s.render());
            }
            GTest::EndsWith(s) => {
                out.word("ends_with");
                out.word(&s.render());
            }
            GTest::Exists => out.word("exists"),
            GTest::Missing => out.word("missing"),
        }
    }
}

fn fit_literal(kind: Option<&GKind>, i: u8) -> String {
    match kind {
        None => pick(ENUM_VALUES, i).to_owned(),
        Some(GKind::Enum(values)) => pick(values, i).to_owned(),
        Some(GKind::Set(inner)) => fit_literal(Some(inner), i),
        Some(GKind::Scalar(s)) => match *s {
            "bool" => pick(&["true", "false"], i).to_owned(),
            "number" => pk(GATE_NUMBERS, i).to_owned(),
            "duration" => pk(GATE_DURATIONS, i).to_owned(),
            "timestamp" => "\"2026-11-22T10:00:00Z\"".to_owned(),
            _ => format!("\"{}\"", pick(GATE_STRINGS, i)),
        },
    }
}

impl GVal {
    fn render(&self, out: &mut Out<'_>, ctx: &Ctx, kind: Option<&GKind>, operand: bool) {
        match self {
            GVal::Fit(i) => out.word(&fit_literal(kind, *i)),
            GVal::Num(n) => out.word(&n.render()),
            GVal::Str(s) => out.word(&s.render()),
            GVal::Dur(d) => out.word(&d.render()),
            GVal::Bool(b) => out.word(if *b { "true" } else { "false" }),
            GVal::Ident(i) => out.word(pick(ENUM_VALUES, *i)),
            GVal::Attr(a) if operand => out.word(attr(ctx, *a).0),
            GVal::Attr(i) => out.word(&fit_literal(kind, *i)),
        }
    }
}

/// A test the attribute's type supports (docs/language.md, "Which test fits
/// which type"), with a fitting literal.
fn typed_test(out: &mut Out<'_>, kind: Option<&GKind>, choice: u8) {
    let lit = |i: u8| fit_literal(kind, i);
    let c = choice / 8;
    match kind {
        Some(GKind::Scalar("bool")) => {
            if choice % 2 == 1 {
                out.word(pick(&["==", "!="], c));
                out.word(&lit(c));
            }
        }
        Some(GKind::Scalar("number" | "duration" | "timestamp")) => match choice % 3 {
            0 | 1 => {
                out.word(pick(&["==", "!=", "<", "<=", ">", ">="], c));
                out.word(&lit(c / 8));
            }
            _ => {
                out.word("in");
                out.word(&format!("[{}, {}]", lit(c), lit(c / 4)));
            }
        },
        Some(GKind::Scalar(_)) => match choice % 4 {
            0 => {
                out.word(pick(&["==", "!="], c));
                out.word(&lit(c));
            }
            1 => {
                out.word(pick(
                    &["matches", "starts_with", "ends_with", "contains"],
                    c,
                ));
                if c.is_multiple_of(4) {
                    out.word(&format!("\"{}\"", pick(REGEXES, c / 4)));
                } else {
                    out.word(&lit(c / 4));
                }
            }
            2 => {
                out.word(pick(&["in", "not in"], c));
                out.word(&format!("[{}, {}]", lit(c), lit(c / 4)));
            }
            _ => out.word(pick(&["exists", "missing"], c)),
        },
        Some(GKind::Enum(_)) => match choice % 3 {
            0 => {
                out.word(pick(&["==", "!="], c));
                out.word(&lit(c));
            }
            1 => {
                out.word(pick(&["in", "not in"], c));
                out.word(&format!("[{}, {}]", lit(c), lit(c / 4)));
            }
            _ => out.word(pick(&["exists", "missing"], c)),
        },
        Some(GKind::Set(_)) => match choice % 3 {
            0 => {
                out.word("contains");
                out.word(&lit(c));
            }
            1 => {
                out.word(pick(&["contains any", "contains all"], c));
                out.word(&format!("[{}, {}]", lit(c), lit(c / 4)));
            }
            _ => out.word(pick(&["exists", "missing"], c)),
        },
        None => out.word(pick(&["exists", "missing"], choice)),
    }
}
