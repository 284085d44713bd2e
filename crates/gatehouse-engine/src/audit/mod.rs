//! Approval state and audit: action digests, verification of collected
//! approvals, audit records, replay and impact analysis.

pub mod chain;
pub mod digest;
pub mod digest_text;
pub mod impact;
pub mod log;
pub mod record;
pub mod redact;
pub mod replay;
pub mod transition;
pub mod verify;

/// Takes `key` out of `map`, keeping the order of the other keys whatever
/// serde_json's features: `Map::remove` swaps the last key into the gap
/// under `preserve_order` (which the CLI turns on), and `shift_remove` exists
/// only under that feature (which the engine never turns on).
pub(crate) fn take_key(
    map: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<serde_json::Value> {
    let value = map.get_mut(key).map(serde_json::Value::take)?;
    map.retain(|k, _| k != key);
    Some(value)
}

/// The keys of the JSON object `text`, in the order written (tests: a
/// `Value` sorts them unless serde_json's `preserve_order` is on).
#[cfg(test)]
pub(crate) fn key_order(text: &str) -> Vec<String> {
    struct Keys;
    impl<'de> serde::de::Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut keys = Vec::new();
            while let Some((k, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                keys.push(k);
            }
            Ok(keys)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut de, Keys).expect("a JSON object")
}
