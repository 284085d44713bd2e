//! Identity normalization for separation of duties.
//!
//! `verify` compares people, not spellings: `Alice`, `alice`, `ａlice`
//! (fullwidth), `аlice` (Cyrillic `а`), `alice` followed by a zero-width
//! joiner and the NFD and NFC spellings of `é` are one person. Every comparison of identities that
//! decides who may approve (the requester and other forbidden identities,
//! distinct people, one person counting once) goes through [`normalize`].
//! Erring toward "the same person" is the strict side: two look-alike
//! spellings can at worst be refused as one person, never let one person
//! approve twice or approve their own action.
//!
//! The Unicode data (NFKC, case folding, the `Default_Ignorable_Code_Point`
//! and `White_Space` properties) comes from ICU4X's compiled tables
//! (`icu_normalizer`, `icu_casemap`, `icu_properties`), maintained by the
//! Unicode Consortium, so no hand-written table can drift from the standard.

use icu_casemap::CaseMapper;
use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::CodePointSetData;
use icu_properties::props::{DefaultIgnorableCodePoint, WhiteSpace};

/// How many rounds [`normalize`] runs at most. Each step is idempotent on
/// its own and in practice one or two rounds reach the fixed point; the
/// bound keeps any input from looping (a string still changing after it is
/// returned as it is then, which is still normalized by every step once).
const MAX_ROUNDS: usize = 8;

/// Whether `c` is invisible: Unicode `Default_Ignorable_Code_Point` (U+00AD,
/// U+034F, U+115F, U+1160, U+180B–U+180F, U+200B–U+200F, U+202A–U+202E,
/// U+2060–U+206F, U+3164, U+FE00–U+FE0F, U+FEFF, U+FFA0, U+1BCA0–U+1BCA3,
/// U+1D173–U+1D17A, U+E0000–U+E0FFF, ...).
fn is_ignorable(c: char) -> bool {
    CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
}

/// Whether `c` shows nothing although Unicode does not class it as
/// default-ignorable or white space: control characters (`Cc`: U+0000–
/// U+001F, U+007F–U+009F), the Braille pattern blank U+2800, the
/// interlinear annotation marks U+FFF9–U+FFFB and the musical null notehead
/// U+1D159. Each of them renders as blank, so a reason or evidence made of
/// them is blank and an identity spelled with them is the identity without
/// them.
fn is_blank_looking(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2800}' | '\u{FFF9}'..='\u{FFFB}' | '\u{1D159}')
}

/// Whether `c` is invisible for every comparison here: default-ignorable or
/// blank-looking.
fn is_invisible(c: char) -> bool {
    is_ignorable(c) || is_blank_looking(c)
}

/// Whether `c` is Unicode `White_Space` (space, tab, newlines, NBSP, U+2000–
/// U+200A, U+3000, ...).
fn is_space(c: char) -> bool {
    CodePointSetData::new::<WhiteSpace>().contains(c)
}

/// One round: drop default-ignorable code points, NFKC, full case fold,
/// the confusable skeleton, NFKC and case fold again, trim `White_Space` at
/// both ends.
fn round(s: &str) -> String {
    let visible: String = s
        .chars()
        .filter(|c| is_space(*c) || !is_invisible(*c))
        .collect();
    let nfkc = ComposingNormalizerBorrowed::new_nfkc().normalize(&visible);
    let folded = CaseMapper::new().fold_string(&nfkc);
    // Look-alikes: the UTS #39 skeleton maps every character to the
    // prototype it is confusable with (Cyrillic `у` and Latin `y`, the
    // dashes U+2010..U+2015 and the minus sign U+2212 and `-`, `0` and
    // `O`...). Its prototypes are not always folded or composed, hence
    // NFKC and the fold again.
    let skeleton: String = unicode_security::confusable_detection::skeleton(&folded).collect();
    let again = ComposingNormalizerBorrowed::new_nfkc().normalize(&skeleton);
    let folded = CaseMapper::new().fold_string(&again);
    folded.trim_matches(is_space).to_owned()
}

/// The normalized form of an identity, under which two spellings are the
/// same person exactly when their normalized forms are equal.
///
/// The steps, in order, repeated until the string no longer changes (at most
/// 8 rounds):
///
/// 1. remove every `Default_Ignorable_Code_Point` (zero-width spaces and
///    joiners, soft hyphen, bidi controls, variation selectors, tag
///    characters, the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0,
///    U+FEFF, ...) and every other character that shows nothing: control
///    characters other than white space, U+2800, U+FFF9–U+FFFB, U+1D159;
/// 2. Unicode normalization form NFKC (compatibility characters such as
///    fullwidth `ａ` become `a`; NFD and NFC spellings become one);
/// 3. Unicode full case folding (`Alice` → `alice`, `Straße` → `strasse`);
/// 4. the confusable skeleton of Unicode Technical Standard #39
///    (`unicode-security`): each character becomes the prototype of the
///    characters it can be mistaken for, so Cyrillic `аlice`, `u‐1042` with
///    a hyphen U+2010 or a minus sign, and `O` for `0` are the same person;
///    then NFKC and case folding again, as the prototypes need not be
///    either;
/// 5. trim Unicode `White_Space` at both ends (inner spaces stay).
///
/// The skeleton errs on the strict side by design: `rn` and `m`, `l` and
/// `1` are one person too. Two approvers of one trust store whose
/// identities are confusable are refused when the store loads.
///
/// Repeating matters because a later step can create what an earlier one
/// removes (NFKC maps U+FFA0 to U+3164, folding can denormalize).
pub fn normalize(identity: &str) -> String {
    let mut current = round(identity);
    for _ in 1..MAX_ROUNDS {
        let next = round(&current);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// Whether `text` is blank: empty, or made only of Unicode `White_Space` and
/// `Default_Ignorable_Code_Point` characters (`"\u{200B}"`, `"\u{FEFF}"`,
/// `"\u{3164}"`, `" \u{00AD} "`). A blank approval reason is no reason and
/// a blank evidence value is missing evidence.
///
/// Never allocates: it runs on the decision path.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| is_space(c) || is_invisible(c))
}

/// Whether two identities are the same person under [`normalize`].
pub fn same_person(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_are_one_person() {
        for spelling in [
            "alice",
            "Alice",
            "ALICE",
            "\u{FF41}lice",
            "alice\u{200D}",
            "\u{200B}al\u{00AD}ice\u{FEFF}",
            " alice\u{3000}",
            "alice\u{FE0F}",
        ] {
            assert_eq!(normalize(spelling), "alice", "{spelling:?}");
        }
        assert_eq!(normalize("Jos\u{0065}\u{0301}"), normalize("jos\u{00E9}"));
        assert_eq!(normalize("Straße"), "strasse");
        assert_ne!(normalize("alice"), normalize("alicia"));
        // Inner spaces stay; the skeleton reads `m` as `rn` (strict side).
        assert_eq!(normalize("bob smith"), normalize("Bob Smith"));
        assert_eq!(normalize("bob smith"), normalize("bob srnith"));
        assert_ne!(normalize("bob smith"), normalize("bobsmith"));
    }

    #[test]
    fn invisible_text_is_blank_and_visible_text_is_not() {
        for blank in [
            "",
            " ",
            "\u{200B}",
            "\u{FEFF}",
            "\u{3164}",
            "\u{FFA0}",
            "\u{115F}\u{1160}",
            " \u{00AD}\t\u{2060}\n",
            "\u{E0020}",
            "\u{2800}\u{2800}\u{2800}",
            "\u{FFF9}\u{FFFA}\u{FFFB}",
            "\u{1D159}",
            "\u{0001}\u{007F}\u{0085}",
        ] {
            assert!(is_blank(blank), "{blank:?}");
            assert_eq!(normalize(blank), "", "{blank:?}");
        }
        for text in ["x", " ok ", "\u{200B}a", "\u{0301}", "."] {
            assert!(!is_blank(text), "{text:?}");
        }
    }
}

#[cfg(test)]
mod look_alike_tests {
    use super::same_person;

    #[test]
    fn look_alikes_of_other_scripts_and_dashes_are_one_person() {
        // The spellings the service's attacker used to approve their own
        // request: other dashes, a minus sign, Cyrillic letters.
        for other in [
            "u\u{2010}1042",
            "u\u{2013}1042",
            "u\u{2212}1042",
            "U-1042",
            "u-1O42",
        ] {
            assert!(same_person("u-1042", other), "{other:?}");
        }
        for other in [
            "agent\u{2011}refunds",
            "\u{0430}gent-refunds",
            "agent-refunds\u{200b}",
        ] {
            assert!(same_person("agent-refunds", other), "{other:?}");
        }
        assert!(same_person("paypal", "p\u{0430}yp\u{0430}l"));
    }

    #[test]
    fn different_people_stay_different() {
        assert!(!same_person("alice", "bob"));
        assert!(!same_person("u-1042", "u-1043"));
        assert!(!same_person("alice", "alice2"));
    }
}
