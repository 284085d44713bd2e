//! Every resource limit, in one place. Each one turns a pathological policy
//! or input into a clear refusal instead of a crash, a stack overflow or an
//! unbounded wait: policy text gets diagnostic E0005 `limit-exceeded` (or
//! E0001 for a file too large to read, E0004 for a regex too large to
//! compile), an input gets `block` with `INVALID_INPUT` and the JSON path.
//!
//! README ("Reliability") prints this table; `tests/readme.rs` keeps the two
//! in step. Raising a limit is a compatibility-safe change; lowering one is
//! not.

/// Largest policy file read (bytes).
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Largest policy set: all its files together (bytes).
pub const MAX_SET_BYTES: usize = 16 * 1024 * 1024;
/// Most files in one policy set.
pub const MAX_FILES: usize = 1_000;
/// Deepest nesting of parentheses (and of `not`s in a row) in a condition.
/// pest parses recursively, so unbounded nesting would exhaust the stack.
pub const MAX_NESTING: usize = 32;
/// Most tests in one condition (`when` or `unless`, counting every `and`/`or`
/// operand). Evaluation is linear in it; the lints' search is not.
pub const MAX_CONDITION_TESTS: usize = 1_000;
/// Most items in one list literal (`in [...]`, `one of [...]`).
pub const MAX_LIST_ITEMS: usize = 10_000;
/// Longest string literal, regex pattern or description (bytes).
pub const MAX_STRING_BYTES: usize = 8 * 1024;
/// Largest compiled regex program (bytes; the regex crate's `size_limit`).
pub const MAX_REGEX_PROGRAM_BYTES: usize = 1024 * 1024;
/// Most memory all the `matches` regexes of a policy set may hold together
/// (bytes, measured once compiled: each regex's compiled form plus one
/// match cache). One regex under [`MAX_REGEX_PROGRAM_BYTES`] can still hold
/// about 1.7 MB (`(?i)\w{20}`), so without a set-wide budget ten thousand
/// of them exhaust memory; a typical anchored pattern holds about 13 KB.
pub const MAX_REGEX_SET_BYTES: usize = 64 * 1024 * 1024;
/// Most rules in a policy set.
pub const MAX_RULES: usize = 50_000;
/// Most schema attributes.
pub const MAX_ATTRIBUTES: usize = 4_096;
/// Most values of one enum.
pub const MAX_ENUM_VALUES: usize = 4_096;
/// Most evidence fields.
pub const MAX_EVIDENCE: usize = 1_024;
/// Most approver roles.
pub const MAX_ROLES: usize = 1_024;
/// Most tiers.
pub const MAX_TIERS: usize = 1_024;
/// Most reason codes.
pub const MAX_REASONS: usize = 50_000;
/// Largest input document (bytes of JSON or YAML text).
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// Deepest nesting of arrays and objects in an input document.
pub const MAX_INPUT_DEPTH: usize = 64;
/// Most unknown fields listed one by one in a `--strict` refusal; the rest
/// are counted in one last entry, so a document of 100 000 unknown fields
/// does not produce an error as large as itself.
pub const MAX_UNKNOWN_FIELD_ERRORS: usize = 20;
