//! Not an API: [`super::decode_json`], the one-pass reader (`wire`) and the
//! slow path they must agree with, for a
//! whole [`crate::Policy`], so that `benches/decode.rs` and
//! `tests/decode_json.rs` (outside the crate) can reach them. Re-exported,
//! hidden, as `gatehouse::__bench`.

use crate::Policy;
use crate::eval::decode::{Decoded, decode};
use crate::eval::{Decision, EvalOptions, InputError};

/// The fast decoder (`decode_json`) for `policy`.
pub fn fast<'a>(policy: &Policy, text: &'a str, strict: bool) -> Option<Decoded<'a>> {
    let program = policy.program();
    super::decode_json(&program.set, &program.decoder, text, strict)
}

/// The slow path's second half ([`decode`]) for `policy`; the first is
/// [`crate::input::parse`].
pub fn slow<'a>(
    policy: &Policy,
    input: &'a serde_json::Value,
    strict: bool,
) -> Result<Decoded<'a>, Vec<InputError>> {
    let program = policy.program();
    decode(&program.set, &program.decoder, input, strict)
}

/// [`crate::eval::decide`] for `policy` (no action digest).
pub fn decide(policy: &Policy, input: &Decoded<'_>, options: &EvalOptions) -> Decision {
    crate::eval::decide(policy.program(), input, options)
}

/// The one-pass reader (`wire::decode`, slots alone) for `policy`.
pub fn wire<'a>(policy: &Policy, text: &'a str, strict: bool) -> Option<Decoded<'a>> {
    let program = policy.program();
    super::wire::decode(&program.set, &program.decoder, text, strict)
}

/// The one-pass reader with the action digest (`wire::decode_digest`) for
/// `policy`: the slots, and the digest appended to `digest`.
pub fn wire_digest<'a>(
    policy: &Policy,
    text: &'a str,
    strict: bool,
    scratch: &mut crate::audit::digest_text::DigestScratch,
    digest: &mut String,
) -> Option<Decoded<'a>> {
    let program = policy.program();
    super::wire::decode_digest(
        &program.set,
        &program.decoder,
        text,
        strict,
        scratch,
        digest,
    )
}
