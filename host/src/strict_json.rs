//! Strict JSON: text that every JSON parser reads the same way, or an error.
//!
//! Plain JSON leaves two things to the parser. An object may name a key twice, and parsers
//! disagree on which value wins (serde_json and Python keep the last, many others the
//! first): a policy that sees `{"cmd":"sudo rm -rf /","cmd":"ls"}` as `ls` would allow what a
//! tool runs as a delete. And an integer too large for 64 bits is silently read as a float
//! by some parsers and exactly by others. Every request (and every audit record the
//! verifier reads) is parsed here, so both are refused with an error that names where.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why text is not strict JSON.
#[derive(Debug, thiserror::Error)]
pub enum StrictJsonError {
    /// Not JSON at all, or a duplicate key (serde_json's message names the line and column).
    #[error("{0}")]
    Syntax(#[from] serde_json::Error),
    /// An integer that does not fit in 64 bits.
    #[error(
        "integer `{0}` does not fit in 64 bits; send it as a string so that every reader sees the same value"
    )]
    BigInteger(String),
}

/// Parses `text` as one JSON value, refusing duplicate object keys at any depth and integers
/// outside the range of `i64` and `u64`.
pub fn from_str(text: &str) -> Result<Value, StrictJsonError> {
    check_integers(text)?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = StrictValue.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Refuses an integer literal (digits, no fraction, no exponent) that does not fit in 64
/// bits. Only number tokens outside strings are looked at; the syntax itself is checked by
/// the parser afterwards.
fn check_integers(text: &str) -> Result<(), StrictJsonError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < bytes.len()
                    && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
                let token = &text[start..i];
                let integer = !token.contains(['.', 'e', 'E']);
                if integer && token.parse::<i64>().is_err() && token.parse::<u64>().is_err() {
                    let digits = token.trim_start_matches('-');
                    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                        let mut shown: String = token.chars().take(40).collect();
                        if token.len() > 40 {
                            shown.push('…');
                        }
                        return Err(StrictJsonError::BigInteger(shown));
                    }
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Builds a [`Value`], failing on the second occurrence of a key in one object.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let mut shown: String = key.chars().take(64).collect();
                if key.chars().count() > 64 {
                    shown.push('…');
                }
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{}` in one object",
                    shown.escape_debug()
                )));
            }
            let value = map.next_value_seed(StrictValue)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_what_serde_json_parses() {
        let text = r#"{"a":[1,-2,3.5,1e3,"x\"]}",null,true],"b":{"c":{}},"big":18446744073709551615,"neg":-9223372036854775808}"#;
        assert_eq!(
            from_str(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        for text in [
            r#"{"cmd":"sudo rm -rf /","cmd":"ls"}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"[{"x":1},{"y":1,"y":1}]"#,
        ] {
            let err = from_str(text).unwrap_err().to_string();
            assert!(err.contains("duplicate key"), "{text}: {err}");
        }
        // The same key in two objects is fine.
        from_str(r#"[{"x":1},{"x":2}]"#).unwrap();
    }

    #[test]
    fn refuses_integers_beyond_64_bits_but_not_floats_or_strings() {
        for text in [
            r#"{"n":18446744073709551616}"#,
            r#"{"n":-9223372036854775809}"#,
            r#"[123456789012345678901234567890]"#,
        ] {
            let err = from_str(text).unwrap_err();
            assert!(
                matches!(err, StrictJsonError::BigInteger(_)),
                "{text}: {err}"
            );
        }
        assert_eq!(
            from_str(r#"{"n":1.8446744073709552e19,"s":"18446744073709551616"}"#).unwrap(),
            json!({"n": 1.8446744073709552e19, "s": "18446744073709551616"})
        );
        // Digits inside strings, escaped quotes included, are not numbers.
        from_str(r#"{"s":"\"99999999999999999999999"}"#).unwrap();
    }

    #[test]
    fn refuses_trailing_text() {
        assert!(from_str(r#"{"a":1} {"#).is_err());
    }
}
