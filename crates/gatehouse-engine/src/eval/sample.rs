//! Sampled review after the fact (`sample N% for review`): which share
//! applies to a decision, and whether one action falls in it.
//!
//! The draw is a pure function of the action digest and an optional secret
//! key, so the same action always gets the same answer (replay reproduces
//! it) and, across many distinct actions, the sampled share converges to
//! the stated one. Specified in docs/decisions.md ("Sampled review"):
//!
//! ```text
//! draw    = first 8 bytes, big-endian, of
//!           SHA-256("gatehouse.sample/1\n" + key_hex + "\n" + action_digest)
//! sampled = draw * 1_000_000 < ppm * 2^64     (exact, in u128)
//! ```
//!
//! `key_hex` is the key in lowercase hex (64 characters), or empty without
//! a key; `action_digest` is the decision's `action_digest` text
//! (`sha256:<hex>`). Sampling is monotonic in the rate: an action sampled at
//! one share is sampled at every higher share. The draw costs one SHA-256
//! block over ~150 bytes and allocates nothing.

use sha2::{Digest as _, Sha256};

use super::{Decision, EvalOptions, Reason};
use crate::check::{PolicySet, Sample, builtin};
use crate::values::share::PPM_ALL;

/// The domain separation prefix of the draw (version 1 of the scheme).
pub const SAMPLE_DOMAIN: &str = "gatehouse.sample/1\n";

/// The draw for an action: a uniform 64-bit number derived from the action
/// digest (and the key, when one is set).
pub fn sample_draw(key: Option<&[u8; 32]>, action_digest: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(SAMPLE_DOMAIN.as_bytes());
    if let Some(key) = key {
        let mut hex = [0u8; 64];
        // Cannot fail: the buffer is exactly twice the key's length.
        if hex::encode_to_slice(key, &mut hex).is_ok() {
            h.update(hex);
        }
    }
    h.update(b"\n");
    h.update(action_digest.as_bytes());
    let out: [u8; 32] = h.finalize().into();
    let [a, b, c, d, e, f, g, i, ..] = out;
    u64::from_be_bytes([a, b, c, d, e, f, g, i])
}

/// Whether a draw falls in a share of `ppm` parts per million: `draw <
/// ppm * 2^64 / 1_000_000` as exact rationals, i.e. `draw * 1_000_000 <
/// ppm * 2^64` in u128 (no rounding: both sides are below 2^84).
/// `ppm >= 1_000_000` samples every draw, `0` none.
pub fn is_sampled(ppm: u32, draw: u64) -> bool {
    u128::from(draw) * u128::from(PPM_ALL) < u128::from(ppm) << 64
}

/// Whether the action with this digest is sampled at `ppm` (with the key,
/// when one is set). Without a digest the action cannot be drawn for, and
/// it is sampled: fail closed, toward more review.
pub fn sampled(ppm: u32, key: Option<&[u8; 32]>, action_digest: Option<&str>) -> bool {
    action_digest.is_none_or(|d| is_sampled(ppm, sample_draw(key, d)))
}

/// Where the applying share comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SampleFrom {
    /// The decision's tier.
    Tier,
    /// A matching rule (its index), or the default (`None`).
    Rule(Option<u32>),
}

/// The share itself, for a source.
pub(super) fn sample_of(set: &PolicySet, tier: Option<usize>, from: SampleFrom) -> Option<&Sample> {
    match from {
        SampleFrom::Tier => tier.and_then(|t| set.tiers.get(t))?.sample.as_ref(),
        SampleFrom::Rule(r) => super::verdict::effect(set, r)?.sample.as_ref(),
    }
}

/// The SAMPLED_FOR_REVIEW reason's message: the builtin message, the
/// share, and where it came from (a rule, the default, or the tier).
pub(super) fn sample_reason_message(rate: &str, rule: Option<&str>, tier: Option<u32>) -> String {
    let base = builtin::ALL
        .get(builtin::SAMPLED_FOR_REVIEW)
        .map_or("", |(_, m)| *m);
    match (rule, tier) {
        (Some(r), _) => format!("{base}: {rate} of actions, set by rule {r}"),
        (None, Some(t)) => format!("{base}: {rate} of actions, set by tier {t}"),
        (None, None) => format!("{base}: {rate} of actions"),
    }
}

/// The SAMPLED_FOR_REVIEW code.
pub(super) fn sample_reason_code() -> &'static str {
    builtin::ALL
        .get(builtin::SAMPLED_FOR_REVIEW)
        .map_or("", |(c, _)| *c)
}

impl Decision {
    /// Sets the action digest and settles `sample.sampled` (and the
    /// SAMPLED_FOR_REVIEW reason) for it, with the options' sample key.
    /// Every path that gives a decided decision its digest goes through
    /// here, so the field and the reason always agree with the digest.
    pub fn set_action_digest(&mut self, digest: Option<String>, options: &EvalOptions) {
        self.action_digest = digest;
        let Some(info) = self.sample.as_mut() else {
            return;
        };
        info.sampled = sampled(
            info.ppm,
            options.sample_key.as_ref(),
            self.action_digest.as_deref(),
        );
        let code = sample_reason_code();
        let at = self
            .reasons
            .iter()
            .position(|r| r.code == code && r.rule.is_none());
        match (info.sampled, at) {
            (true, None) => {
                let message = sample_reason_message(&info.rate, info.rule.as_deref(), info.tier);
                self.reasons.push(Reason {
                    code: code.to_owned(),
                    message,
                    rule: None,
                });
            }
            (false, Some(i)) => {
                self.reasons.remove(i);
            }
            _ => {}
        }
    }
}
