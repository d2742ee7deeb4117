//! The audit log's record lines and its verifier.
//!
//! 1. Round trip: when the input is a JSON object without the reserved fields, sealing it
//!    into a line and parsing the line gives back the same `seq`, `prev` and `hash`, the
//!    hash checks, the line is one line, and read as JSON it holds exactly the fields given.
//! 2. Tamper evidence: the input replaces the only segment of a small log written by
//!    `AuditLog` (HEAD untouched). `verify` never panics, its errors are one line, the
//!    original bytes verify to the original report, and other bytes never verify to it.
//!
//! With `LAMPART_FUZZ_WRITE_SEED=<file>` set, the original segment is written to that file
//! (the seed in `corpus/audit_record/`).

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lampart::audit::{AuditLog, AuditOptions, VerifyReport, verify};
use lampart::canonical;
use lampart::fuzzing;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

/// The log every input is compared with.
struct Original {
    /// Kept alive: the directory the log was written to.
    _written: tempfile::TempDir,
    /// A directory holding the original HEAD, where each input is written as the segment.
    scratch: tempfile::TempDir,
    /// The segment's file name.
    segment_name: String,
    /// The segment's bytes.
    segment: Vec<u8>,
    /// What `verify` says about the original log.
    report: VerifyReport,
}

fn original() -> &'static Original {
    static ORIGINAL: OnceLock<Original> = OnceLock::new();
    ORIGINAL.get_or_init(|| {
        let written = tempfile::tempdir().unwrap();
        let options = AuditOptions {
            fsync: false,
            ..AuditOptions::default()
        };
        let log = AuditLog::open(written.path(), options).unwrap();
        for record in [
            json!({"type": "decision", "tool": "shell", "verdict": "deny",
                   "args": {"cmd": "sudo rm -rf /"}, "reason": "finding `shell.recursive-delete`"}),
            json!({"type": "decision", "tool": "send_money", "verdict": "allow",
                   "args": {"amount": 120.5, "recipient": "blake3:ab"}, "grants": [], "labels": ["x"]}),
            json!({"type": "decision", "tool": "é\u{1}\"\\", "verdict": "elevation-required",
                   "missing_scopes": ["payments:large"], "n": -9223372036854775808i64}),
        ] {
            let Value::Object(fields) = record else {
                unreachable!()
            };
            log.append(fields).unwrap();
        }
        log.close().unwrap();
        let (segment_name, segment) = only_segment(written.path());
        let scratch = tempfile::tempdir().unwrap();
        std::fs::copy(written.path().join("HEAD"), scratch.path().join("HEAD")).unwrap();
        std::fs::write(scratch.path().join(&segment_name), &segment).unwrap();
        let report = verify(scratch.path()).unwrap();
        assert_eq!(report.records, 3);
        if let Some(path) = std::env::var_os("LAMPART_FUZZ_WRITE_SEED") {
            std::fs::write(PathBuf::from(path), &segment).unwrap();
        }
        Original {
            _written: written,
            scratch,
            segment_name,
            segment,
            report,
        }
    })
}

/// The name and bytes of the only segment file in `dir`.
fn only_segment(dir: &Path) -> (String, Vec<u8>) {
    let mut segments: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".jsonl"))
        .collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    let name = segments.pop().unwrap();
    let bytes = std::fs::read(dir.join(&name)).unwrap();
    (name, bytes)
}

fn round_trip(fields: Map<String, Value>) {
    if fuzzing::reserved_field(&fields).is_some() {
        return;
    }
    let digest = canonical::digest(&Value::Object(fields.clone()));
    let prev = canonical::hex(&digest);
    let seq = u64::from_le_bytes(digest.as_bytes()[..8].try_into().unwrap());
    let sealed = fuzzing::seal(fields.clone(), seq, &prev);
    let (last, body) = sealed.line.split_last().unwrap();
    assert_eq!(*last, b'\n');
    assert!(!body.contains(&b'\n'), "a sealed record spans lines");
    let parsed = fuzzing::parse_line(body).unwrap_or_else(|e| {
        panic!(
            "sealed line `{}` does not parse: {e}",
            String::from_utf8_lossy(body)
        )
    });
    assert_eq!(
        parsed,
        fuzzing::ParsedLine {
            seq,
            prev: prev.clone(),
            hash: sealed.hash.clone(),
            hash_ok: true,
        }
    );
    let mut expected = fields;
    expected.insert("seq".into(), Value::from(seq));
    expected.insert("prev".into(), Value::from(prev));
    assert_eq!(
        sealed.hash,
        canonical::digest_hex(&Value::Object(expected.clone()))
    );
    expected.insert("hash".into(), Value::from(sealed.hash));
    let read: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        read,
        Value::Object(expected),
        "the line reads back differently"
    );
}

fn tamper(segment: &[u8]) {
    let original = original();
    let dir = original.scratch.path();
    std::fs::write(dir.join(&original.segment_name), segment).unwrap();
    match verify(dir) {
        Ok(report) if segment == original.segment.as_slice() => {
            assert_eq!(report, original.report);
        }
        Ok(report) => {
            assert!(
                report.last_hash != original.report.last_hash
                    || report.records != original.report.records,
                "changed segment `{}` verifies as the original",
                String::from_utf8_lossy(segment)
            );
        }
        Err(e) => {
            assert_ne!(
                segment,
                original.segment.as_slice(),
                "the original log fails: {e}"
            );
            let message = e.to_string();
            assert!(!message.contains('\n'), "error spans lines: {message:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(data) {
        round_trip(fields);
    }
    tamper(data);
});
