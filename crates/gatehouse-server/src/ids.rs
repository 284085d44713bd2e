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

/// The smallest id of this kind made at or after `unix_seconds`: a
/// UUIDv7's first 12 hex digits are its Unix time in milliseconds, so
/// every id made from then on sorts at or above it. Lets a reader bound a
/// scan by creation time with the id index alone.
pub fn floor_at(prefix: &str, unix_seconds: i64) -> String {
    let ms = u64::try_from(unix_seconds.max(0))
        .unwrap_or(0)
        .saturating_mul(1000)
        .min(0xffff_ffff_ffff);
    format!("{prefix}{ms:012x}{}", "0".repeat(20))
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

    #[test]
    fn a_floor_sorts_with_the_ids_of_its_time() {
        let now = gatehouse::values::Timestamp::now_utc().unix_seconds();
        let before = new_id("req_");
        let floor = floor_at("req_", now + 2);
        assert!(is_id(&floor, "req_"));
        assert!(before < floor && new_id("req_") < floor, "{floor}");
        assert!(floor_at("req_", now - 2) < before);
        assert_eq!(floor_at("req_", -5), format!("req_{}", "0".repeat(32)));
    }
}
