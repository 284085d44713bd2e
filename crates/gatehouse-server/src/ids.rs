//! Ids: a prefix naming the kind and a UUIDv7 in hex, so ids sort by
//! creation time (`req_0193…`, `evt_…`, `whd_…`).

/// A new id with `prefix` (which includes its underscore).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

/// Whether `text` looks like an id of this kind: the prefix and 32
/// lowercase hex digits. Anything else is refused before a lookup.
pub fn is_id(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix).is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_their_prefix_and_sort_by_time() {
        let a = new_id("req_");
        let b = new_id("req_");
        assert!(is_id(&a, "req_"));
        assert!(a < b);
        assert!(!is_id(&a, "evt_"));
        assert!(!is_id("req_../../etc", "req_"));
        assert!(!is_id(&a.to_uppercase(), "req_"));
    }
}
