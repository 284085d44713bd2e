//! Compiling `matches` patterns, and the memory budget they share.
//!
//! Each regex is capped on its own ([`MAX_REGEX_PROGRAM_BYTES`]), but one
//! regex under that cap can still hold well over a megabyte (a
//! case-insensitive `\w{20}` takes about 1.7 MB with its match cache), so
//! ten thousand of them exhaust memory. The policy set therefore also has a
//! budget for all its regexes together, [`crate::limits::MAX_REGEX_SET_BYTES`]: each
//! regex is charged what it measurably holds once compiled (the regex
//! engine's own `memory_usage` of the compiled regex and of a fresh match
//! cache), and the regex that crosses the budget is E0005.

use crate::limits::MAX_REGEX_PROGRAM_BYTES;
#[cfg(test)]
use crate::limits::MAX_REGEX_SET_BYTES;

/// A compiled pattern and what it costs against
/// [`crate::limits::MAX_REGEX_SET_BYTES`].
pub(super) struct Compiled {
    /// The regex the evaluator runs.
    pub regex: regex::Regex,
    /// Bytes it holds: compiled form plus one match cache.
    pub bytes: usize,
}

/// Compiles `pattern` under the per-regex limits and measures it. The error
/// is the regex crate's message.
pub(super) fn compile(pattern: &str) -> Result<Compiled, regex::Error> {
    let regex = regex::RegexBuilder::new(pattern)
        // Compiled regexes are capped so a policy cannot exhaust memory;
        // matching is linear in the input (the regex crate has no
        // backtracking).
        .size_limit(MAX_REGEX_PROGRAM_BYTES)
        .dfa_size_limit(MAX_REGEX_PROGRAM_BYTES)
        .build()?;
    Ok(Compiled {
        bytes: measure(pattern),
        regex,
    })
}

/// What the regex crate's engine holds for `pattern` under the same limits
/// as [`compile`]: `regex::Regex` wraps exactly this `meta::Regex` but does
/// not report its size, so it is built once more here to be measured. A
/// pattern the measuring build refuses (it never should, having the same
/// limits) is charged the most a regex may take, so the budget errs on the
/// strict side.
fn measure(pattern: &str) -> usize {
    let built = regex_automata::meta::Regex::builder()
        .configure(
            regex_automata::meta::Config::new()
                .nfa_size_limit(Some(MAX_REGEX_PROGRAM_BYTES))
                .hybrid_cache_capacity(MAX_REGEX_PROGRAM_BYTES)
                .dfa_size_limit(Some(MAX_REGEX_PROGRAM_BYTES)),
        )
        .build(pattern);
    match built {
        Ok(re) => re
            .memory_usage()
            .saturating_add(re.create_cache().memory_usage()),
        Err(_) => MAX_REGEX_PROGRAM_BYTES.saturating_mul(2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_patterns_cost_little_and_large_ones_much() {
        let small = compile("^INC\\d+$").unwrap().bytes;
        assert!(small > 0 && small < 64 * 1024, "{small}");
        let large = compile("(?i)\\w{20}x1").unwrap().bytes;
        assert!(large > 1024 * 1024, "{large}");
        // Ten thousand such regexes exceed the set budget by far.
        assert!(large.saturating_mul(10_000) > MAX_REGEX_SET_BYTES);
    }
}
