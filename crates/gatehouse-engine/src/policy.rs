//! The public face: load a policy set once, evaluate many actions.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::audit::digest::action_digest;
use crate::audit::digest_text::DigestScratch;
use crate::check;
use crate::compile::{Program, compile};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::eval::{self, Decision, EvalOptions, Input, InputError, Verdict, decode};
use crate::limits::{MAX_FILES, MAX_SET_BYTES};
use crate::loader;
use crate::source::SourceFile;
use crate::syntax;

/// A compiled policy set. Immutable and `Send + Sync`: load it once and
/// share it by reference across threads.
#[derive(Debug)]
pub struct Policy {
    program: Program,
    warnings: Diagnostics,
}

impl Policy {
    /// Loads a `.gate` file, or the policy set in a directory (every `.gate`
    /// file directly in it).
    pub fn load(path: impl AsRef<Path>) -> Result<Policy, Diagnostics> {
        let files = loader::read_set(path.as_ref())?;
        Policy::from_files(files)
    }

    /// Compiles a policy set from `(file name, text)` pairs.
    pub fn from_sources<N, T>(
        sources: impl IntoIterator<Item = (N, T)>,
    ) -> Result<Policy, Diagnostics>
    where
        N: Into<String>,
        T: Into<String>,
    {
        Policy::from_files(
            sources
                .into_iter()
                .map(|(n, t)| SourceFile::new(n, t))
                .collect(),
        )
    }

    /// Compiles one source text.
    pub fn from_source(
        name: impl Into<String>,
        text: impl Into<String>,
    ) -> Result<Policy, Diagnostics> {
        Policy::from_sources([(name.into(), text.into())])
    }

    /// Parses, checks and compiles files of one set. Syntax errors of every
    /// file are reported together; names and types are checked only once
    /// every file parses (a file that does not parse would make its
    /// declarations look undeclared everywhere else).
    pub fn from_files(files: Vec<Arc<SourceFile>>) -> Result<Policy, Diagnostics> {
        check_set_size(&files)?;
        let mut parsed = Vec::new();
        let mut errors = Diagnostics::default();
        for f in &files {
            match syntax::parse(f) {
                Ok(ast) => parsed.push(ast),
                Err(e) => errors.0.extend(e.0),
            }
        }
        if errors.has_errors() {
            return Err(errors);
        }
        let (set, warnings) = check::check(parsed)?;
        Ok(Policy {
            program: compile(set),
            warnings,
        })
    }

    /// Warnings found while checking (the policy compiled anyway).
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.program.set.name
    }

    /// The policy's version.
    pub fn version(&self) -> &str {
        &self.program.set.version
    }

    /// `sha256:<hex>` of the sources; every decision carries it.
    pub fn digest(&self) -> &str {
        &self.program.set.digest
    }

    /// The checked policy set, for tools (lints, documentation).
    pub fn checked(&self) -> &check::PolicySet {
        &self.program.set
    }

    /// Decides for one action. Never fails: an input that does not match
    /// the schema gets `block` with reason `INVALID_INPUT` and the JSON path
    /// of every problem.
    ///
    /// Numbers are decided as the caller's `serde_json::Value` holds them
    /// (`Number`'s `Display`): every digit written when serde_json's
    /// `arbitrary_precision` feature is on in the build; otherwise integers
    /// that fit 64 bits exactly and any other number as the `f64` it was
    /// read into (`1000.0000000000000001` is then `1000.0`, `-0` is
    /// `-0.0`). A number a `Value` cannot hold never reaches the engine as
    /// a number (serde_json refuses `1e400` without `arbitrary_precision`;
    /// an `f64` infinity becomes `null`). To decide with the numbers as
    /// written in every build, pass the JSON text to
    /// [`Policy::evaluate_json`].
    pub fn evaluate(&self, input: &serde_json::Value) -> Decision {
        self.evaluate_with(input, &EvalOptions::default())
    }

    /// [`Policy::evaluate`] with options (the current time, strict fields).
    pub fn evaluate_with(&self, input: &serde_json::Value, options: &EvalOptions) -> Decision {
        self.or_block(input, self.try_evaluate(input, options))
    }

    /// The strict call: returns the input errors instead of a block decision.
    pub fn try_evaluate(
        &self,
        input: &serde_json::Value,
        options: &EvalOptions,
    ) -> Result<Decision, Vec<InputError>> {
        // The readers never produce a value this deep, but one built in code
        // can be, and decoding and the digest must not recurse through it.
        crate::input::check_value_depth(input).map_err(|e| vec![e])?;
        self.decide(input, options)
    }

    /// Decode, decide, digest: for an input whose depth is known to be
    /// within the limit.
    fn decide(
        &self,
        input: &serde_json::Value,
        options: &EvalOptions,
    ) -> Result<Decision, Vec<InputError>> {
        let decoded = decode::decode(
            &self.program.set,
            &self.program.decoder,
            input,
            options.strict,
        )?;
        let mut d = eval::decide(&self.program, &decoded, options);
        d.set_action_digest(Some(action_digest(input)), options);
        Ok(d)
    }

    /// The decision, or `block`/`INVALID_INPUT` for the errors, which carries
    /// the input's digest unless the input was too deep to digest.
    fn or_block(
        &self,
        input: &serde_json::Value,
        result: Result<Decision, Vec<InputError>>,
    ) -> Decision {
        result.unwrap_or_else(|errors| {
            let mut d = eval::invalid_input(&self.program, errors);
            if crate::input::check_value_depth(input).is_ok() {
                d.action_digest = Some(action_digest(input));
            }
            d
        })
    }

    /// The compiled program (crate-internal: decoders and benches).
    pub(crate) fn program(&self) -> &Program {
        &self.program
    }

    /// Rebuilds the rule index so that it indexes sets of `min_rules`
    /// rules or more (tests: differential testing of the index on small
    /// generated policies).
    pub(crate) fn reindex(&mut self, min_rules: usize) {
        self.program.index =
            crate::compile::index::RuleIndex::build_with(&self.program.set, min_rules);
    }

    /// Decides for an action given as JSON text: the fast path for services
    /// that receive the action on the wire. Text that is not a valid input
    /// document (malformed, a key given twice, nested deeper than
    /// [`crate::limits::MAX_INPUT_DEPTH`], over
    /// [`crate::limits::MAX_INPUT_BYTES`]) gets `block` with
    /// `INVALID_INPUT` and the JSON path of each problem.
    ///
    /// Numbers are read from their digits, exactly, whatever serde_json's
    /// features: `1000.0000000000000001` is above 1000 in every build. A
    /// number the engine's decimals cannot hold (beyond ±10^20, or refused
    /// by serde_json such as `1e400`) is `INVALID_INPUT`, never rounded. The
    /// action digest is that of the text (`audit::digest_text`).
    ///
    /// ```
    /// # let policy = gatehouse::Policy::from_source("p.gate",
    /// #   "policy \"p\" version \"1\" schema { action.amount: number } default auto").unwrap();
    /// let d = policy.evaluate_json(r#"{"action": {"amount": 5, "amount": 50000}}"#);
    /// assert_eq!(d.outcome, gatehouse::Outcome::Block);
    /// assert_eq!(d.input_errors[0].path, "$.action.amount");
    /// ```
    pub fn evaluate_json(&self, text: &str) -> Decision {
        self.evaluate_json_with(text, &EvalOptions::default())
    }

    /// [`Policy::evaluate_json`] with options.
    pub fn evaluate_json_with(&self, text: &str, options: &EvalOptions) -> Decision {
        let mut digest = String::new();
        if let Ok(input) =
            self.decode_json_digest(text, options, &mut DigestScratch::new(), &mut digest)
        {
            let mut verdict = self.verdict();
            verdict.decide(&input);
            let mut d = verdict.to_decision(&input, options);
            d.set_action_digest(Some(digest), options);
            return d;
        }
        // Refused: the reader and the decoder give the exact errors (and
        // the digest, when the text is a document).
        match crate::input::parse(text, crate::input::Syntax::Json) {
            // The reader has refused anything too deep: no second walk.
            Ok(input) => {
                let decided = self.decide(&input, options).and_then(|d| {
                    exact_in_value(text)?;
                    Ok(d)
                });
                self.or_block(&input, decided)
            }
            Err(errors) => self.invalid_input(errors),
        }
    }

    /// Decodes JSON text into this policy's slots, as
    /// [`Policy::decode_json_with`], and on success appends the action
    /// digest of the text (`sha256:<hex>`, exactly
    /// [`action_digest_text`](crate::audit::digest_text::action_digest_text)'s) to `digest`: the first half of every
    /// wire-to-answer path. On refusal `digest` is left as it was and the
    /// errors are [`Policy::decode_json_with`]'s. `scratch` holds the
    /// buffers reused between calls.
    pub fn decode_json_digest<'i>(
        &self,
        text: &'i str,
        options: &EvalOptions,
        scratch: &mut DigestScratch,
        digest: &mut String,
    ) -> Result<Input<'i>, Vec<InputError>> {
        let program = &self.program;
        // One pass: decoded and canonicalized together.
        if let Some(decoded) = crate::eval::decode_json::wire::decode_digest(
            &program.set,
            &program.decoder,
            text,
            options.strict,
            scratch,
            digest,
        ) {
            return Ok(Input {
                decoded,
                program: program.id,
            });
        }
        // Refused, or left to the slow path: two passes (the first gives
        // the exact errors).
        let input = self.decode_json_with(text, options)?;
        // Decoded, so the reader accepts the text: the text digest is the
        // document's.
        crate::audit::digest_text::push_action_digest_text(text, scratch, digest);
        Ok(input)
    }

    /// A [`JsonDecider`](crate::JsonDecider) of this policy: the reusable
    /// wire-to-answer path (JSON text in, the decision with its action
    /// digest out), one per thread.
    pub fn json_decider(&self, options: EvalOptions) -> crate::JsonDecider<'_> {
        crate::JsonDecider::new(self, options)
    }

    /// A reusable, empty [`Verdict`] of this policy: the allocation-free way
    /// to decide many actions (see [`Verdict::decide`]).
    pub fn verdict(&self) -> Verdict<'_> {
        Verdict::new(&self.program)
    }

    /// Decodes an input document into this policy's typed slots, without
    /// deciding. Strings are borrowed from the document. The errors are
    /// those [`Policy::try_evaluate`] gives.
    pub fn decode<'i>(
        &self,
        input: &'i serde_json::Value,
        options: &EvalOptions,
    ) -> Result<Input<'i>, Vec<InputError>> {
        crate::input::check_value_depth(input).map_err(|e| vec![e])?;
        let decoded = decode::decode(
            &self.program.set,
            &self.program.decoder,
            input,
            options.strict,
        )?;
        Ok(Input {
            decoded,
            program: self.program.id,
        })
    }

    /// Decodes an input given as JSON text straight into this policy's
    /// slots, without building a JSON tree; fields the schema does not
    /// declare are skipped. Refuses exactly what [`Policy::evaluate_json`]
    /// refuses, with the same errors.
    pub fn decode_json<'i>(&self, text: &'i str) -> Result<Input<'i>, Vec<InputError>> {
        self.decode_json_with(text, &EvalOptions::default())
    }

    /// [`Policy::decode_json`] with options (`strict`).
    pub fn decode_json_with<'i>(
        &self,
        text: &'i str,
        options: &EvalOptions,
    ) -> Result<Input<'i>, Vec<InputError>> {
        let program = &self.program;
        // The one-pass reader without its canonical output: it refuses what
        // the slow path refuses in every build (serde's visitors skip an
        // undeclared number the slow path's `Value` cannot hold exactly,
        // e.g. `1e308` without `arbitrary_precision`), at 10% more time
        // than the visitors (`cargo bench --bench decode`).
        if let Some(decoded) = crate::eval::decode_json::wire::decode(
            &program.set,
            &program.decoder,
            text,
            options.strict,
        ) {
            return Ok(Input {
                decoded,
                program: program.id,
            });
        }
        // Refused, or a case the fast decoder leaves to the reader (its
        // contract: it decodes only what the reader would decode the same
        // way); the reader gives the exact errors.
        let value = crate::input::parse(text, crate::input::Syntax::Json)?;
        let decoded = decode::decode(
            &self.program.set,
            &self.program.decoder,
            &value,
            options.strict,
        )?;
        exact_in_value(text)?;
        Ok(Input {
            decoded: decode::Decoded {
                slots: decoded
                    .slots
                    .into_iter()
                    .map(decode::Slot::into_owned)
                    .collect(),
                evidence: decoded.evidence,
            },
            program: self.program.id,
        })
    }

    /// Decides for any serializable value (a typed struct of the caller's).
    /// A value that does not serialize to JSON is invalid input.
    pub fn evaluate_serialize<T: Serialize + ?Sized>(&self, input: &T) -> Decision {
        match serde_json::to_value(input) {
            Ok(v) => self.evaluate(&v),
            Err(e) => eval::invalid_input(
                &self.program,
                vec![InputError {
                    path: "$".into(),
                    message: format!("cannot serialize the input: {e}"),
                }],
            ),
        }
    }

    /// Whether `role` is a declared role whose approval limit this action
    /// exceeds (or cannot be checked against, the amount being absent).
    pub fn role_exceeded(&self, role: &str, input: &serde_json::Value) -> bool {
        let set = &self.program.set;
        let Some(limit) = set
            .roles
            .iter()
            .find(|r| r.name == role)
            .and_then(|r| r.limit.as_ref())
        else {
            return false;
        };
        match decode::decode(set, &self.program.decoder, input, false) {
            Ok(decoded) => match decoded.slots.get(limit.attribute) {
                Some(decode::Slot::Number(v)) => !limit.allows(*v),
                _ => true,
            },
            Err(_) => true,
        }
    }

    /// The decision for an input that could not be read at all (malformed
    /// JSON or YAML): block with INVALID_INPUT, attributed to this policy.
    pub fn invalid_input(&self, errors: Vec<InputError>) -> Decision {
        eval::invalid_input(&self.program, errors)
    }
}

/// Refuses a set of more than [`MAX_FILES`] files or
/// [`MAX_SET_BYTES`] of text, before any of it is parsed.
fn check_set_size(files: &[Arc<SourceFile>]) -> Result<(), Diagnostics> {
    let total: usize = files.iter().map(|f| f.text.len()).sum();
    let problem = if files.len() > MAX_FILES {
        format!(
            "the policy set has {} files; the limit is {MAX_FILES}",
            files.len()
        )
    } else if total > MAX_SET_BYTES {
        format!("the policy set is {total} bytes; the limit is {MAX_SET_BYTES}")
    } else {
        return Ok(());
    };
    Err(Diagnostic::without_span(
        Code::LimitExceeded,
        problem,
        "split it into several policy sets, each evaluated on its own",
    )
    .into())
}

/// For JSON text the fast decoder left to the slow path, which reads it into
/// a `serde_json::Value`: refuses a document with a number the `Value` does
/// not hold exactly (only possible without serde_json's
/// `arbitrary_precision`, i.e. in a user's build), rather than deciding
/// with another number than the one written. The fast path reads every
/// literal exactly, so both text paths decide with the numbers written or
/// not at all.
fn exact_in_value(text: &str) -> Result<(), Vec<InputError>> {
    match crate::eval::decode_json::literal_lost_by_value(text) {
        None => Ok(()),
        Some(literal) => Err(vec![InputError {
            path: "$".into(),
            message: format!(
                "the number {literal} would be read as {}: this document is left to serde_json's reader, which keeps every digit only with its `arbitrary_precision` feature",
                serde_json::from_str::<serde_json::Number>(literal)
                    .map_or_else(|_| "nothing: out of range".to_owned(), |n| n.to_string())
            ),
        }]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn policy_is_send_and_sync() {
        assert_send_sync::<Policy>();
    }
}
