//! Canonical JSON: one byte string per JSON value, so that a value can be hashed.
//!
//! The canonical form of a [`serde_json::Value`] is compact JSON (no whitespace anywhere) in
//! which the members of every object, at every depth, are sorted by the UTF-8 bytes of their
//! keys. It does not depend on the order in which a map holds its keys, so it is the same
//! whether or not serde_json's `preserve_order` feature is enabled somewhere in the build.
//!
//! Scalars are written exactly as serde_json writes them:
//!
//! - `null`, `true`, `false`;
//! - numbers with serde_json's `Display`: integers in plain decimal (`-12`,
//!   `18446744073709551615`), floats in their shortest round-trip form with a `.0` or an
//!   exponent (`1.0`, `-0.0`, `0.5`, `1e+20`, `-1.5e-7`). Float formatting is serde_json's
//!   and has changed between its releases (older ones, using ryu, wrote `1e20`), so a digest
//!   of a value holding floats in exponent form is only stable for one serde_json version;
//!   integers, strings and structure are stable;
//! - strings as UTF-8 written verbatim between double quotes, escaping only `"` as `\"`,
//!   `\` as `\\`, and the control characters below U+0020: backspace, form feed, line feed,
//!   carriage return and tab as `\b`, `\f`, `\n`, `\r`, `\t`, every other one as `\u00XX`
//!   with lowercase hex digits. Nothing else is escaped (not `/`, not U+007F, not non-ASCII).
//!
//! Sorting by UTF-8 bytes is the same as sorting by Unicode code points, so for values without
//! floats Python's `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
//! produces the same bytes.

use serde_json::Value;

/// Returns the canonical JSON text of `value` (see the [module docs](self)).
pub fn to_canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    // Only valid UTF-8 is ever written: ASCII punctuation, escapes, and whole `str`s.
    String::from_utf8(out).expect("canonical JSON is UTF-8")
}

/// Appends the canonical JSON bytes of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            // `String`'s ordering compares the UTF-8 bytes; keys of a map are unique.
            members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
    }
}

/// Returns the blake3 hash of the canonical JSON bytes of `value`.
pub fn digest(value: &Value) -> blake3::Hash {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    blake3::hash(&out)
}

/// Returns the blake3 hash of the canonical JSON bytes of `value` as 64 lowercase hex digits.
pub fn digest_hex(value: &Value) -> String {
    hex(&digest(value))
}

/// Returns `hash` as 64 lowercase hex digits.
pub fn hex(hash: &blake3::Hash) -> String {
    hash.to_hex().to_string()
}

/// Writes `s` as a JSON string with serde_json's escaping.
fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x00..=0x1f => b'u',
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        out.push(b'\\');
        out.push(short);
        if short == b'u' {
            out.extend_from_slice(&[
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_at_top_level() {
        let v = json!({"b": 1, "a": 2, "c": 3});
        assert_eq!(to_canonical_json(&v), r#"{"a":2,"b":1,"c":3}"#);
    }

    #[test]
    fn sorts_keys_at_every_depth() {
        let v = json!({"z": {"y": [ {"b": null, "a": true} ], "x": false}, "a": []});
        assert_eq!(
            to_canonical_json(&v),
            r#"{"a":[],"z":{"x":false,"y":[{"a":true,"b":null}]}}"#
        );
    }

    #[test]
    fn sorts_by_utf8_bytes() {
        // 'Z' (0x5a) < 'a' (0x61) < 'é' (0xc3 0xa9) < '中' (0xe4 ...) < '😀' (0xf0 ...).
        let v = json!({"😀": 5, "中": 4, "é": 3, "a": 2, "Z": 1, "": 0, "aa": 6});
        assert_eq!(
            to_canonical_json(&v),
            r#"{"":0,"Z":1,"a":2,"aa":6,"é":3,"中":4,"😀":5}"#
        );
    }

    #[test]
    fn independent_of_insertion_order() {
        let mut a = serde_json::Map::new();
        a.insert("k2".into(), json!(2));
        a.insert("k1".into(), json!(1));
        let mut b = serde_json::Map::new();
        b.insert("k1".into(), json!(1));
        b.insert("k2".into(), json!(2));
        let (a, b) = (Value::Object(a), Value::Object(b));
        assert_eq!(to_canonical_json(&a), to_canonical_json(&b));
        assert_eq!(digest(&a), digest(&b));
    }

    #[test]
    fn escapes_like_serde_json() {
        for c in (0u32..0x100).chain([0x2028, 0x2029, 0xfeff, 0x1f600]) {
            let s = format!("a{}b", char::from_u32(c).unwrap());
            let v = Value::String(s);
            assert_eq!(
                to_canonical_json(&v),
                serde_json::to_string(&v).unwrap(),
                "char {c:#x}"
            );
        }
        let v = json!("quote \" backslash \\ slash / nl \n tab \t nul \u{0} del \u{7f} é");
        assert_eq!(
            to_canonical_json(&v),
            "\"quote \\\" backslash \\\\ slash / nl \\n tab \\t nul \\u0000 del \u{7f} é\""
        );
        assert_eq!(
            to_canonical_json(&json!({"\u{1}k\"": 1})),
            r#"{"\u0001k\"":1}"#
        );
    }

    #[test]
    fn numbers_as_serde_json_prints_them() {
        let text = r#"[0, -0, 1, -1, 1.0, -0.0, 0.5, 1e20, 1e21, 1.5e-7, 123456789.125,
            18446744073709551615, -9223372036854775808, 3.141592653589793, 2.5E+3]"#;
        let v: Value = serde_json::from_str(text).unwrap();
        let canonical = to_canonical_json(&v);
        assert_eq!(canonical, serde_json::to_string(&v).unwrap());
        assert_eq!(
            canonical,
            "[0,-0.0,1,-1,1.0,-0.0,0.5,1e+20,1e+21,1.5e-7,123456789.125,\
             18446744073709551615,-9223372036854775808,3.141592653589793,2500.0]"
        );
    }

    #[test]
    fn compact_scalars_and_empties() {
        assert_eq!(to_canonical_json(&json!(null)), "null");
        assert_eq!(
            to_canonical_json(&json!([true, false, {}, [], ""])),
            r#"[true,false,{},[],""]"#
        );
    }

    #[test]
    fn digest_is_blake3_of_canonical_bytes() {
        let v = json!({"b": [1, 2], "a": "x"});
        let expected = blake3::hash(br#"{"a":"x","b":[1,2]}"#);
        assert_eq!(digest(&v), expected);
        assert_eq!(digest_hex(&v), expected.to_hex().as_str());
        assert_eq!(hex(&expected).len(), 64);
        assert!(
            hex(&expected)
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }

    #[test]
    fn write_canonical_appends() {
        let mut out = b"prefix:".to_vec();
        write_canonical(&json!({"b": 1, "a": 0}), &mut out);
        assert_eq!(out, br#"prefix:{"a":0,"b":1}"#);
    }
}
