//! Entry points for the fuzz targets in `fuzz/`: crate-private functions wrapped in public
//! ones. Built only with the `fuzzing` feature; not a stable interface.

use serde_json::{Map, Value};

use crate::audit::record;

/// `seq`, `prev` and `hash` of an audit record line as read back, and whether the hash is
/// that of the line's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLine {
    /// The record's `seq`.
    pub seq: u64,
    /// The record's `prev`.
    pub prev: String,
    /// The record's `hash` as stored.
    pub hash: String,
    /// Whether `hash` is the blake3 hash of the record's body.
    pub hash_ok: bool,
}

/// A sealed audit record line: the line (newline included) and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedLine {
    /// The whole line, newline included.
    pub line: Vec<u8>,
    /// The record's hash, 64 lowercase hex digits.
    pub hash: String,
}

/// The `prev` of record 1: 64 zeros.
pub const ZERO_HASH: &str = record::ZERO_HASH;

/// The first reserved field (`seq`, `prev`, `hash`) that `fields` sets, if any; such fields
/// must not be passed to [`seal`].
pub fn reserved_field(fields: &Map<String, Value>) -> Option<&'static str> {
    record::reserved_field(fields)
}

/// Adds `seq` and `prev` to `fields`, hashes the result and lays it out as a log line.
///
/// `fields` must not contain a reserved field (see [`reserved_field`]).
pub fn seal(fields: Map<String, Value>, seq: u64, prev: &str) -> SealedLine {
    let sealed = record::seal(fields, seq, prev);
    SealedLine {
        line: sealed.line,
        hash: sealed.hash,
    }
}

/// Reads a log line (without its newline), or says why it is not a record.
pub fn parse_line(line: &[u8]) -> Result<ParsedLine, String> {
    record::parse_line(line).map(|p| ParsedLine {
        seq: p.seq,
        prev: p.prev,
        hash: p.hash,
        hash_ok: p.hash_ok,
    })
}

/// Whether `s` is 64 lowercase hex digits.
pub fn is_hex64(s: &[u8]) -> bool {
    record::is_hex64(s)
}
