//! One record as one line: sealing a caller's fields into a hashed line, and reading it back.
//!
//! A line is `{"hash":"<64 hex>",` followed by the canonical JSON of the record without `hash`
//! minus its opening `{`, then `\n`. The hash is blake3 over `{` + the bytes after the prefix,
//! so checking it never re-serializes anything.

use serde_json::{Map, Value};

use crate::{canonical, strict_json};

/// The `prev` of record 1: 64 zeros.
pub(crate) const ZERO_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// Fields the log sets; a caller's record must not contain them.
pub(crate) const RESERVED: [&str; 3] = ["seq", "prev", "hash"];

/// `{"hash":"` — the first bytes of every line.
const PREFIX: &[u8] = br#"{"hash":""#;
/// Length of `{"hash":"<64 hex>",`: the body (minus its `{`) starts here.
const BODY_START: usize = PREFIX.len() + 64 + 2;

/// Returns the first reserved field that `fields` sets, if any.
pub(crate) fn reserved_field(fields: &Map<String, Value>) -> Option<&'static str> {
    RESERVED.into_iter().find(|f| fields.contains_key(*f))
}

/// A record ready to be written.
pub(crate) struct Sealed {
    /// The whole line, newline included.
    pub(crate) line: Vec<u8>,
    /// The record's hash, 64 lowercase hex digits.
    pub(crate) hash: String,
}

/// Adds `seq` and `prev` to `fields`, hashes the result and lays it out as a line.
///
/// `fields` must not contain a reserved field (checked by the caller).
pub(crate) fn seal(mut fields: Map<String, Value>, seq: u64, prev: &str) -> Sealed {
    fields.insert("seq".to_owned(), Value::from(seq));
    fields.insert("prev".to_owned(), Value::from(prev));
    let mut body = Vec::with_capacity(256);
    canonical::write_canonical(&Value::Object(fields), &mut body);
    let hash = canonical::hex(&blake3::hash(&body));
    let mut line = Vec::with_capacity(BODY_START + body.len());
    line.extend_from_slice(PREFIX);
    line.extend_from_slice(hash.as_bytes());
    line.extend_from_slice(b"\",");
    // The body is an object with at least two members, so it is `{` + `"...":...}`.
    line.extend_from_slice(&body[1..]);
    line.push(b'\n');
    Sealed { line, hash }
}

/// A record line as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// Its `seq`.
    pub(crate) seq: u64,
    /// Its `prev`.
    pub(crate) prev: String,
    /// Its `hash` as stored.
    pub(crate) hash: String,
    /// Whether `hash` is the blake3 hash of the record's body.
    pub(crate) hash_ok: bool,
}

/// Reads a line (without its newline), or says why it is not a record.
///
/// The body must be strict JSON (see [`crate::strict_json`]: no key twice, no integer beyond
/// 64 bits) and exactly the canonical form of what it parses to. A line that hashes right
/// but that JSON readers could read differently (a field given twice, keys out of order,
/// extra spaces) is therefore refused, not trusted.
pub(crate) fn parse_line(line: &[u8]) -> Result<Parsed, String> {
    let layout_error = || r#"does not start with {"hash":"<64 lowercase hex digits>","#.to_owned();
    if line.len() < BODY_START
        || !line.starts_with(PREFIX)
        || &line[BODY_START - 2..BODY_START] != b"\","
    {
        return Err(layout_error());
    }
    let hash = &line[PREFIX.len()..BODY_START - 2];
    if !is_hex64(hash) {
        return Err(layout_error());
    }
    let mut body = Vec::with_capacity(1 + line.len() - BODY_START);
    body.push(b'{');
    body.extend_from_slice(&line[BODY_START..]);
    let text = std::str::from_utf8(&body).map_err(|e| format!("not UTF-8: {e}"))?;
    let value = strict_json::from_str(text).map_err(|e| e.to_string())?;
    let Value::Object(fields) = &value else {
        return Err("not a JSON object".to_owned());
    };
    if fields.contains_key("hash") {
        return Err("has a second `hash` field".to_owned());
    }
    let seq = fields
        .get("seq")
        .ok_or("has no `seq`")?
        .as_u64()
        .ok_or("seq is not a non-negative integer")?;
    let prev = fields
        .get("prev")
        .ok_or("has no `prev`")?
        .as_str()
        .filter(|p| is_hex64(p.as_bytes()))
        .ok_or("prev is not 64 lowercase hex digits")?
        .to_owned();
    let mut canonical = Vec::with_capacity(body.len());
    canonical::write_canonical(&value, &mut canonical);
    if canonical != body {
        return Err(
            "not in canonical form (keys out of order, extra whitespace or escapes?)".to_owned(),
        );
    }
    let hash = String::from_utf8_lossy(hash).into_owned();
    let hash_ok = canonical::hex(&blake3::hash(&body)) == hash;
    Ok(Parsed {
        seq,
        prev,
        hash,
        hash_ok,
    })
}

/// Whether `line` is JSON at all (a torn line usually is not).
pub(crate) fn is_json(line: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
}

/// Whether `s` is 64 lowercase hex digits.
pub(crate) fn is_hex64(s: &[u8]) -> bool {
    s.len() == 64 && s.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn sealed_line_layout() {
        let s = seal(fields(json!({"b": 1, "a": "x"})), 7, ZERO_HASH);
        let text = String::from_utf8(s.line.clone()).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"hash":"{}","a":"x","b":1,"prev":"{ZERO_HASH}","seq":7}}"#,
                s.hash
            ) + "\n"
        );
        // The hash is over the canonical JSON of the record without `hash`.
        let without_hash = json!({"a": "x", "b": 1, "prev": ZERO_HASH, "seq": 7});
        assert_eq!(s.hash, canonical::digest_hex(&without_hash));
        // The line is JSON whose fields are the record's.
        let v: Value = serde_json::from_slice(&s.line).unwrap();
        assert_eq!(v["hash"], json!(s.hash));
        assert_eq!(v["seq"], json!(7));
    }

    #[test]
    fn parse_reads_back_a_sealed_line() {
        let s = seal(
            fields(json!({"decision": "allow", "n": 1.5})),
            3,
            &"a".repeat(64),
        );
        let p = parse_line(&s.line[..s.line.len() - 1]).unwrap();
        assert_eq!(
            p,
            Parsed {
                seq: 3,
                prev: "a".repeat(64),
                hash: s.hash,
                hash_ok: true
            }
        );
    }

    #[test]
    fn parse_notices_an_edit() {
        let s = seal(fields(json!({"decision": "deny"})), 3, ZERO_HASH);
        let text = String::from_utf8(s.line).unwrap().replace("deny", "allo");
        let p = parse_line(text.trim_end().as_bytes()).unwrap();
        assert!(!p.hash_ok);
    }

    #[test]
    fn parse_rejects_other_layouts() {
        let h = "0".repeat(64);
        for bad in [
            format!(r#"{{"seq":1,"hash":"{h}","prev":"{h}"}}"#),
            format!(r#"{{"hash":"{}","prev":"{h}","seq":1}}"#, "A".repeat(64)),
            format!(r#"{{"hash":"{h}","prev":"{h}"}}"#),
            format!(r#"{{"hash":"{h}","prev":"{h}","seq":-1}}"#),
            format!(r#"{{"hash":"{h}","prev":"x","seq":1}}"#),
            format!(r#"{{"hash":"{h}","hash":"{h}","prev":"{h}","seq":1}}"#),
            format!(r#"{{"hash":"{h}","prev":"{h}","seq":1,"seq":2}}"#),
            format!(r#"{{"hash":"{h}","prev":"{h}","seq":1"#),
            String::new(),
        ] {
            assert!(parse_line(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn reserved_fields_are_found() {
        assert_eq!(reserved_field(&fields(json!({"a": 1}))), None);
        assert_eq!(
            reserved_field(&fields(json!({"a": 1, "prev": 0}))),
            Some("prev")
        );
        assert_eq!(reserved_field(&fields(json!({"hash": 0}))), Some("hash"));
    }
}
