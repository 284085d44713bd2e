//! `identity::normalize` and `identity::is_blank`: the properties separation
//! of duties relies on.

use gatehouse::identity::{is_blank, normalize, same_person};
use proptest::prelude::*;

/// Text with the characters that matter here mixed in: ASCII, Latin with
/// combining marks, fullwidth forms, invisible characters, white space.
fn tricky() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a",
        "B",
        "z",
        "\u{00E9}",
        "e\u{0301}",
        "\u{FF21}",
        "\u{FF41}",
        "\u{200B}",
        "\u{200D}",
        "\u{FEFF}",
        "\u{3164}",
        "\u{FFA0}",
        "\u{00AD}",
        "\u{FE0F}",
        "\u{E0041}",
        " ",
        "\t",
        "\u{3000}",
        "\u{00A0}",
        "\u{0130}",
        "\u{00DF}",
        "\u{212B}",
        "\u{1E9E}",
        "\u{FB01}",
        "\u{2460}",
        "\u{0308}",
        "\u{00A8}",
    ]);
    prop::collection::vec(pieces, 0..8).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Normalizing twice changes nothing: the result is a fixed point.
    #[test]
    fn normalize_is_idempotent(s in tricky()) {
        let once = normalize(&s);
        prop_assert_eq!(normalize(&once), once);
    }

    /// Blank text normalizes to nothing, and text that normalizes to
    /// nothing is blank: the two notions agree.
    #[test]
    fn blank_means_normalizes_to_nothing(s in tricky()) {
        prop_assert_eq!(is_blank(&s), normalize(&s).is_empty(), "{:?}", s);
    }

    /// Case, invisible characters and surrounding white space never make a
    /// second person.
    #[test]
    fn spellings_of_one_person_are_one_person(s in "[a-zA-Z0-9._-]{1,12}", at in 0usize..12) {
        let at = at.min(s.len());
        let with_joiner = format!("{}\u{200D}{}", &s[..at], &s[at..]);
        prop_assert!(same_person(&s, &s.to_uppercase()));
        prop_assert!(same_person(&s, &with_joiner));
        let padded = format!("\u{FEFF} {s}\t");
        prop_assert!(same_person(&s, &padded));
        let fullwidth: String = s
            .chars()
            .map(|c| if c.is_ascii_graphic() { char::from_u32(c as u32 + 0xFEE0).unwrap_or(c) } else { c })
            .collect();
        prop_assert!(same_person(&s, &fullwidth), "{} vs {}", s, fullwidth);
    }

    /// Different visible ASCII ids stay different people, unless they are
    /// look-alikes under Unicode's confusables (UTS #39: `0` and `o`, `1`
    /// and `l`, `rn` and `m`), which are one person on purpose.
    #[test]
    fn different_ids_stay_different(a in "[a-z0-9]{1,8}", b in "[a-z0-9]{1,8}") {
        // The skeleton's prototypes may be capitals (`0` is `O`): folded.
        let skeleton = |s: &str| -> String {
            unicode_security::confusable_detection::skeleton(s).collect::<String>().to_lowercase()
        };
        prop_assert_eq!(same_person(&a, &b), skeleton(&a) == skeleton(&b), "{} {}", a, b);
    }

    /// Ids made of characters that no other ASCII character is mistaken
    /// for stay different people exactly when they differ.
    #[test]
    fn unambiguous_ids_stay_different(a in "[abcefhkpqstuxyz2-8]{1,8}", b in "[abcefhkpqstuxyz2-8]{1,8}") {
        prop_assert_eq!(same_person(&a, &b), a == b, "{} {}", a, b);
    }
}
