//! [`JsonDecider`]: the wire-to-answer path every caller shares (the
//! service, the Python package, `gatehouse eval --jsonl`): JSON text in,
//! the decision with its action digest out, as the owned [`Decision`] or
//! written straight as the decision document. It keeps every buffer a
//! decision needs (the verdict, the digest scratch, the digest), so in
//! steady state deciding a valid input allocates nothing but what the
//! caller asks to own.

use crate::audit::digest_text::DigestScratch;
use crate::eval::{DocumentFormat, EvalOptions, Outcome, Verdict, write_document};
use crate::{Decision, Policy};

/// Decides many JSON actions with one policy and one set of options,
/// reusing its buffers from one call to the next. One per thread: it is
/// cheap to make (`Policy::json_decider`), and `Send`.
///
/// ```
/// # let policy = gatehouse::Policy::from_source("p.gate",
/// #   "policy \"p\" version \"1\" schema { action.amount: number } default auto").unwrap();
/// let mut decider = policy.json_decider(gatehouse::EvalOptions::default());
/// let mut out = Vec::new();
/// let outcome = decider.write_json(r#"{"action": {"amount": 5}}"#, &mut out);
/// assert_eq!(outcome, gatehouse::Outcome::Auto);
/// assert!(out.starts_with(br#"{"format":"gatehouse.decision/1","outcome":"auto""#));
/// assert!(decider.action_digest().unwrap().starts_with("sha256:"));
/// ```
#[derive(Debug)]
pub struct JsonDecider<'p> {
    policy: &'p Policy,
    options: EvalOptions,
    verdict: Verdict<'p>,
    scratch: DigestScratch,
    /// The last decided input's action digest (empty: none).
    digest: String,
}

impl<'p> JsonDecider<'p> {
    pub(crate) fn new(policy: &'p Policy, options: EvalOptions) -> JsonDecider<'p> {
        JsonDecider {
            policy,
            options,
            verdict: policy.verdict(),
            scratch: DigestScratch::new(),
            digest: String::new(),
        }
    }

    /// The options every decision of this decider uses.
    pub fn options(&self) -> &EvalOptions {
        &self.options
    }

    /// The action digest of the last input decided (`None` before the
    /// first, or when the last could not be read as a document).
    pub fn action_digest(&self) -> Option<&str> {
        (!self.digest.is_empty()).then_some(self.digest.as_str())
    }

    /// Decides the JSON text: exactly [`Policy::evaluate_json_with`] with
    /// this decider's options.
    pub fn decide(&mut self, text: &str) -> Decision {
        self.digest.clear();
        let policy = self.policy;
        let d = match policy.decode_json_digest(
            text,
            &self.options,
            &mut self.scratch,
            &mut self.digest,
        ) {
            Ok(input) => {
                self.verdict.decide(&input);
                // Settled once, with the digest (`to_decision` would settle
                // an undigested sample first, then this again).
                self.verdict
                    .to_decision_digested(&input, &self.options, Some(self.digest.clone()))
            }
            Err(_) => policy.evaluate_json_with(text, &self.options),
        };
        if let Some(digest) = &d.action_digest {
            self.digest.clear();
            self.digest.push_str(digest);
        }
        d
    }

    /// Decides the JSON text and appends its decision document to `out` as
    /// one line of JSON without the newline: byte for byte
    /// [`write_document`] of [`JsonDecider::decide`]'s decision with
    /// [`DocumentFormat::DECISION`]. Returns the outcome.
    pub fn write_json(&mut self, text: &str, out: &mut Vec<u8>) -> Outcome {
        if let Some(outcome) = self.try_write_json(text, out) {
            return outcome;
        }
        let d = self.decide(text);
        // Writing into a Vec fails only on a serializer bug; the document
        // is then the owned decision's, which cannot fail either.
        let _ = write_document(&mut *out, &DocumentFormat::DECISION, &d, false);
        d.outcome
    }

    /// [`JsonDecider::write_json`] for a text that is a valid input of the
    /// policy; `None`, with nothing written to `out`, when it is not (then
    /// the caller words the refusal, e.g. `gatehouse eval --jsonl` with
    /// the line number, or calls [`JsonDecider::write_json`]).
    pub fn try_write_json(&mut self, text: &str, out: &mut Vec<u8>) -> Option<Outcome> {
        self.digest.clear();
        let policy = self.policy;
        let input = policy
            .decode_json_digest(text, &self.options, &mut self.scratch, &mut self.digest)
            .ok()?;
        self.verdict.decide(&input);
        let at = out.len();
        match self
            .verdict
            .write_json(&input, &self.options, Some(&self.digest), out)
        {
            Ok(()) => Some(self.verdict.outcome()),
            Err(_) => {
                out.truncate(at);
                None
            }
        }
    }
}
