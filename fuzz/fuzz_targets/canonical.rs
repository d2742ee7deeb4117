//! `to_canonical_json` against serde_json: for any JSON text serde_json parses, the
//! canonical text parses back to an equal value, is a fixed point (the canonical text of the
//! reparsed value is byte-identical), is compact, and has every object's keys sorted by
//! their UTF-8 bytes.

#![no_main]

use lampart::canonical::{digest, to_canonical_json};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let canonical = to_canonical_json(&value);
    let reparsed: Value = serde_json::from_str(&canonical)
        .unwrap_or_else(|e| panic!("canonical text `{canonical}` does not parse: {e}"));
    assert_eq!(
        value, reparsed,
        "canonical text `{canonical}` reads back differently"
    );
    let again = to_canonical_json(&reparsed);
    assert_eq!(canonical, again, "canonical JSON is not a fixed point");
    assert_eq!(digest(&value), digest(&reparsed));
    check_sorted(&reparsed, &canonical);
    // Compact: serde_json's compact writer gives the same length (it differs in key order
    // only, unless serde_json sorts keys itself).
    assert_eq!(
        canonical.len(),
        serde_json::to_string(&value).unwrap().len()
    );
});

/// Asserts that the keys of every object in `value`, in the order the canonical text wrote
/// them, are strictly increasing by their UTF-8 bytes.
fn check_sorted(value: &Value, canonical: &str) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| check_sorted(v, canonical)),
        Value::Object(map) => {
            // The canonical text of this object alone, read back with key order preserved
            // by scanning it: parse into an ordered list of keys.
            let text = to_canonical_json(value);
            let keys = object_keys(&text);
            assert_eq!(keys.len(), map.len(), "object `{text}` lost a key");
            assert!(
                keys.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()),
                "keys of `{text}` are not sorted (in `{canonical}`)"
            );
            map.values().for_each(|v| check_sorted(v, canonical));
        }
        _ => {}
    }
}

/// The top-level keys of the JSON object `text`, in the order they are written.
fn object_keys(text: &str) -> Vec<String> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                keys.push(key);
            }
            Ok(keys)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(Keys)
        .expect("canonical object text parses")
}
