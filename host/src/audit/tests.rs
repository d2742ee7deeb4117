//! Tests of the log as a whole: writing, reopening, rollover, concurrency, tampering, crashes.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::layout::{HEAD_FILE, list_segments, segment_file_name};
use super::record::{ZERO_HASH, seal};
use super::*;

fn rec(i: u64) -> Map<String, Value> {
    let v =
        json!({"decision": "allow", "tool": "shell", "i": i, "args": {"z": [1, 2.5], "a": "é\n"}});
    v.as_object().unwrap().clone()
}

/// A record of about 20 KB: three fit in a segment of the smallest size, four do not.
fn padded(i: u64) -> Map<String, Value> {
    let mut fields = rec(i);
    fields.insert("pad".into(), json!("x".repeat(20_000)));
    fields
}

/// The smallest segments: with [`padded`] records, 3 records per segment.
fn small() -> AuditOptions {
    AuditOptions {
        max_segment_bytes: MIN_SEGMENT_BYTES,
        ..AuditOptions::default()
    }
}

/// Writes `n` records: [`padded`] ones into [`small`] segments, else short ones.
fn write_log(dir: &Path, n: u64, options: AuditOptions) -> Vec<Receipt> {
    let record = if options.max_segment_bytes == MIN_SEGMENT_BYTES {
        padded
    } else {
        rec
    };
    let log = AuditLog::open(dir, options).unwrap();
    let receipts = (1..=n).map(|i| log.append(record(i)).unwrap()).collect();
    log.close().unwrap();
    receipts
}

/// The segments of a log with their lines (newlines included).
fn read_segments(dir: &Path) -> Vec<(PathBuf, Vec<String>)> {
    list_segments(dir)
        .unwrap()
        .into_iter()
        .map(|s| {
            let text = fs::read_to_string(&s.path).unwrap();
            (
                s.path,
                text.split_inclusive('\n').map(str::to_owned).collect(),
            )
        })
        .collect()
}

fn write_segments(segments: &[(PathBuf, Vec<String>)]) {
    for (path, lines) in segments {
        fs::write(path, lines.concat()).unwrap();
    }
}

/// Where record `seq` is: (segment index, line index).
fn locate(segments: &[(PathBuf, Vec<String>)], seq: u64) -> (usize, usize) {
    let needle = format!(",\"seq\":{seq},");
    for (s, (_, lines)) in segments.iter().enumerate() {
        for (l, line) in lines.iter().enumerate() {
            if line.contains(&needle) {
                return (s, l);
            }
        }
    }
    panic!("record {seq} not found");
}

/// Asserts that verify fails with `Broken` at `seq` with `problem`; returns the file named.
fn assert_broken(dir: &Path, seq: u64, problem: Problem) -> PathBuf {
    match verify(dir) {
        Err(AuditError::Broken {
            file,
            seq: s,
            problem: p,
        }) if s == seq && p == problem => file,
        other => panic!("expected record {seq}: {problem}, got {other:?}"),
    }
}

fn seq_of(v: &Value) -> u64 {
    v["seq"].as_u64().unwrap()
}

#[test]
fn appends_are_chained_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let receipts = write_log(dir.path(), 5, AuditOptions::default());
    assert_eq!(
        receipts.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let records = tail(dir.path(), 10).unwrap();
    assert_eq!(records.len(), 5);
    assert_eq!(records[0]["prev"], json!(ZERO_HASH));
    for (pair, receipt) in records.windows(2).zip(&receipts) {
        assert_eq!(pair[1]["prev"], json!(receipt.hash));
    }
    assert_eq!(records[2]["tool"], json!("shell"));
    let report = verify(dir.path()).unwrap();
    assert_eq!(
        (report.records, report.segments, report.last_seq),
        (5, 1, 5)
    );
    assert_eq!(report.last_hash, receipts[4].hash);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    assert_eq!(
        head(dir.path()).unwrap(),
        Head {
            seq: 5,
            hash: receipts[4].hash.clone()
        }
    );
}

#[test]
fn chain_continues_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_log(dir.path(), 3, AuditOptions::default());
    let log = AuditLog::open(dir.path(), AuditOptions::default()).unwrap();
    let r = log.append(rec(4)).unwrap();
    log.close().unwrap();
    assert_eq!(r.seq, 4);
    let last = tail(dir.path(), 1).unwrap();
    assert_eq!(last[0]["prev"], json!(first[2].hash));
    assert_eq!(verify(dir.path()).unwrap().records, 4);
}

#[test]
fn chain_continues_across_segment_rollover() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 10, small());
    write_log(dir.path(), 0, small());
    let log = AuditLog::open(dir.path(), small()).unwrap();
    for i in 11..=20 {
        log.append(padded(i)).unwrap();
    }
    drop(log);
    let segments = read_segments(dir.path());
    assert!(segments.len() >= 5, "{} segments", segments.len());
    for (path, lines) in &segments {
        let size: usize = lines.iter().map(String::len).sum();
        assert!(
            size as u64 <= MIN_SEGMENT_BYTES,
            "{} is {size} bytes",
            path.display()
        );
        let first: Value = serde_json::from_str(&lines[0]).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(name, segment_file_name(seq_of(&first)));
    }
    let report = verify(dir.path()).unwrap();
    assert_eq!((report.records, report.segments), (20, segments.len()));
    let all = tail(dir.path(), 100).unwrap();
    assert_eq!(
        all.iter().map(seq_of).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>()
    );
}

#[test]
fn oversized_record_gets_its_own_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), small()).unwrap();
    log.append(padded(1)).unwrap();
    let mut big = rec(2);
    big.insert("blob".into(), json!("x".repeat(70_000)));
    log.append(big).unwrap();
    log.append(padded(3)).unwrap();
    log.close().unwrap();
    let firsts: Vec<u64> = list_segments(dir.path())
        .unwrap()
        .iter()
        .map(|s| s.first)
        .collect();
    assert_eq!(firsts, [1, 2, 3]);
    assert_eq!(verify(dir.path()).unwrap().records, 3);
}

#[test]
fn concurrent_appends_from_eight_threads() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), small()).unwrap();
    let mut seqs: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let log = &log;
                s.spawn(move || {
                    (0..50)
                        .map(|i| log.append(padded(t * 100 + i)).unwrap().seq)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    log.close().unwrap();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=400).collect::<Vec<_>>());
    let report = verify(dir.path()).unwrap();
    assert_eq!(report.records, 400);
    assert_eq!(head(dir.path()).unwrap().seq, 400);
}

#[test]
fn pipelined_submits_keep_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), AuditOptions::default()).unwrap();
    let pending: Vec<Pending> = (1..=200).map(|i| log.submit(rec(i))).collect();
    let receipts: Vec<Receipt> = pending.into_iter().map(|p| p.wait().unwrap()).collect();
    log.close().unwrap();
    assert_eq!(
        receipts.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=200).collect::<Vec<_>>()
    );
    // Submission order is chain order: record i carries field i.
    let all = tail(dir.path(), 200).unwrap();
    assert!(all.iter().all(|v| v["i"] == v["seq"]));
    assert_eq!(verify(dir.path()).unwrap().last_hash, receipts[199].hash);
}

#[test]
fn fsync_off_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let options = AuditOptions {
        fsync: false,
        ..small()
    };
    let log = AuditLog::open(dir.path(), options.clone()).unwrap();
    let pending: Vec<Pending> = (1..=100).map(|i| log.submit(padded(i))).collect();
    for p in pending {
        p.wait().unwrap();
    }
    log.close().unwrap();
    write_log(dir.path(), 5, options);
    let report = verify(dir.path()).unwrap();
    assert_eq!((report.records, report.head.seq), (105, 105));
}

#[test]
fn empty_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/nested");
    write_log(&path, 0, AuditOptions::default());
    let report = verify(&path).unwrap();
    assert_eq!(
        (report.records, report.segments, report.last_seq),
        (0, 0, 0)
    );
    assert_eq!(report.last_hash, ZERO_HASH);
    assert_eq!(tail(&path, 3).unwrap(), Vec::<Value>::new());
}

#[test]
fn reserved_fields_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), AuditOptions::default()).unwrap();
    for field in ["seq", "prev", "hash"] {
        let mut r = rec(1);
        r.insert(field.into(), json!(1));
        let err = log.append(r).unwrap_err();
        assert!(
            matches!(err, AuditError::ReservedField { field: f, .. } if f == field),
            "{err}"
        );
    }
    // The log is still usable.
    assert_eq!(log.append(rec(1)).unwrap().seq, 1);
}

#[test]
fn second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), AuditOptions::default()).unwrap();
    let err = AuditLog::open(dir.path(), AuditOptions::default()).unwrap_err();
    assert!(matches!(err, AuditError::Locked { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("already open by another writer"),
        "{message}"
    );
    assert!(matches!(
        recover(dir.path()),
        Err(AuditError::Locked { .. })
    ));
    log.close().unwrap();
    AuditLog::open(dir.path(), AuditOptions::default()).unwrap();
}

#[test]
fn write_failure_fails_the_batch_and_stops_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), AuditOptions::default()).unwrap();
    // A directory where the first segment must be created makes the write fail.
    fs::create_dir(dir.path().join(segment_file_name(1))).unwrap();
    let err = log.append(rec(1)).unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Io {
                action: "create segment",
                ..
            }
        ),
        "{err}"
    );
    let err = log.append(rec(2)).unwrap_err();
    assert!(matches!(err, AuditError::Stopped { .. }), "{err}");
    assert!(err.to_string().contains("create segment"), "{err}");
    assert!(matches!(log.close(), Err(AuditError::Stopped { .. })));
    assert_eq!(head(dir.path()).unwrap(), Head::genesis());
}

// ---- tampering ----------------------------------------------------------------------------

/// A closed log of 30 records in segments of 3.
fn tamper_fixture() -> (tempfile::TempDir, Vec<Receipt>) {
    let dir = tempfile::tempdir().unwrap();
    let receipts = write_log(dir.path(), 30, small());
    assert!(list_segments(dir.path()).unwrap().len() >= 8);
    (dir, receipts)
}

#[test]
fn detects_edited_record() {
    let (dir, _) = tamper_fixture();
    let mut segments = read_segments(dir.path());
    let (s, l) = locate(&segments, 17);
    segments[s].1[l] = segments[s].1[l].replace("\"allow\"", "\"deny!\"");
    write_segments(&segments);
    let file = assert_broken(dir.path(), 17, Problem::HashMismatch);
    assert_eq!(file, segments[s].0);
    let message = verify(dir.path()).unwrap_err().to_string();
    assert_eq!(
        message,
        format!(
            "audit log {}: record 17: hash mismatch (edited?)",
            file.display()
        )
    );
    assert!(!message.contains('\n'));
}

#[test]
fn detects_deleted_record() {
    let (dir, _) = tamper_fixture();
    let mut segments = read_segments(dir.path());
    let (s, l) = locate(&segments, 17);
    segments[s].1.remove(l);
    write_segments(&segments);
    assert_broken(dir.path(), 17, Problem::Missing { next: 18 });
}

#[test]
fn detects_inserted_copy() {
    let (dir, _) = tamper_fixture();
    let mut segments = read_segments(dir.path());
    let (s, l) = locate(&segments, 16);
    let copy = segments[s].1[l].clone();
    segments[s].1.insert(l + 1, copy);
    write_segments(&segments);
    assert_broken(dir.path(), 17, Problem::Repeated { found: 16 });
}

#[test]
fn detects_inserted_forged_record() {
    let (dir, receipts) = tamper_fixture();
    let mut segments = read_segments(dir.path());
    // Correctly sealed, but chained to the wrong record.
    let forged = seal(rec(99), 17, &receipts[10].hash);
    let (s, l) = locate(&segments, 17);
    segments[s]
        .1
        .insert(l, String::from_utf8(forged.line).unwrap());
    write_segments(&segments);
    assert_broken(dir.path(), 17, Problem::PrevMismatch);

    // Sealed and chained to record 16: then the genuine record 17 no longer fits.
    let (dir, receipts) = tamper_fixture();
    let mut segments = read_segments(dir.path());
    let forged = seal(rec(99), 17, &receipts[15].hash);
    let (s, l) = locate(&segments, 17);
    segments[s]
        .1
        .insert(l, String::from_utf8(forged.line).unwrap());
    write_segments(&segments);
    assert_broken(dir.path(), 18, Problem::Repeated { found: 17 });
}

#[test]
fn detects_reordered_records() {
    let (dir, _) = tamper_fixture();
    let mut segments = read_segments(dir.path());
    let (s, l) = locate(&segments, 17);
    let (s2, l2) = locate(&segments, 18);
    let a = segments[s].1[l].clone();
    let b = segments[s2].1[l2].clone();
    segments[s].1[l] = b;
    segments[s2].1[l2] = a;
    write_segments(&segments);
    assert_broken(dir.path(), 17, Problem::Missing { next: 18 });
}

#[test]
fn detects_deleted_segment() {
    let (dir, _) = tamper_fixture();
    let segments = list_segments(dir.path()).unwrap();
    let victim = &segments[3];
    fs::remove_file(&victim.path).unwrap();
    let file = assert_broken(
        dir.path(),
        victim.first,
        Problem::SegmentStart {
            named: segments[4].first,
        },
    );
    assert_eq!(file, segments[4].path);
}

#[test]
fn detects_deleted_last_segment() {
    let (dir, _) = tamper_fixture();
    let segments = list_segments(dir.path()).unwrap();
    let last = segments.last().unwrap();
    fs::remove_file(&last.path).unwrap();
    match verify(dir.path()) {
        Err(AuditError::Truncated {
            seq,
            claimed: 30,
            by: "HEAD",
            ..
        }) => assert_eq!(seq, last.first),
        other => panic!("{other:?}"),
    }
}

#[test]
fn detects_renamed_segment() {
    let (dir, _) = tamper_fixture();
    let segments = list_segments(dir.path()).unwrap();
    let victim = &segments[2];
    fs::rename(
        &victim.path,
        dir.path().join(segment_file_name(victim.first + 1)),
    )
    .unwrap();
    assert_broken(
        dir.path(),
        victim.first,
        Problem::SegmentStart {
            named: victim.first + 1,
        },
    );
}

#[test]
fn detects_truncated_log() {
    let (dir, _) = tamper_fixture();
    let mut segments = read_segments(dir.path());
    // Cut records 28..=30 off at line boundaries (they may span two segments).
    let (s, l) = locate(&segments, 28);
    segments[s].1.truncate(l);
    for (path, _) in segments.drain(s + 1..) {
        fs::remove_file(path).unwrap();
    }
    write_segments(&segments);
    let err = verify(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Truncated {
                seq: 28,
                claimed: 30,
                by: "HEAD",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("record 28: missing: HEAD names record 30"),
        "{err}"
    );
    // The writer refuses to continue such a log too.
    let err = AuditLog::open(dir.path(), small()).unwrap_err();
    assert!(
        matches!(err, AuditError::Truncated { seq: 28, .. }),
        "{err:?}"
    );
}

#[test]
fn detects_torn_last_line() {
    let (dir, _) = tamper_fixture();
    let segments = read_segments(dir.path());
    let (path, lines) = segments.last().unwrap();
    let last = lines.last().unwrap();
    let offset = (lines.concat().len() - last.len()) as u64;
    let mut torn = lines.clone();
    *torn.last_mut().unwrap() = last[..last.len() / 2].to_owned();
    fs::write(path, torn.concat()).unwrap();
    match verify(dir.path()) {
        Err(AuditError::Torn {
            file,
            offset: o,
            seq: 30,
        }) => {
            assert_eq!((&file, o), (path, offset));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn detects_bad_line_in_the_middle() {
    let (dir, _) = tamper_fixture();
    let mut segments = read_segments(dir.path());
    let (s, l) = locate(&segments, 17);
    segments[s].1[l] = "not json\n".to_owned();
    write_segments(&segments);
    let err = verify(dir.path()).unwrap_err();
    assert!(
        matches!(
            &err,
            AuditError::Broken {
                seq: 17,
                problem: Problem::Malformed { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn head_behind_the_log_is_a_note() {
    let (dir, receipts) = tamper_fixture();
    let behind = format!("{:020} {}\n", 27, receipts[26].hash);
    fs::write(dir.path().join(HEAD_FILE), behind).unwrap();
    let report = verify(dir.path()).unwrap();
    assert_eq!((report.records, report.head.seq), (30, 27));
    assert_eq!(report.notes.len(), 1);
    assert!(
        report.notes[0].contains("records 28..=30 are chained"),
        "{:?}",
        report.notes
    );
    // The writer continues and moves HEAD on.
    let log = AuditLog::open(dir.path(), small()).unwrap();
    assert_eq!(log.append(padded(31)).unwrap().seq, 31);
    log.close().unwrap();
    assert!(verify(dir.path()).unwrap().notes.is_empty());
}

#[test]
fn detects_head_with_wrong_hash() {
    let (dir, receipts) = tamper_fixture();
    let wrong = format!("{:020} {}\n", 27, receipts[25].hash);
    fs::write(dir.path().join(HEAD_FILE), wrong).unwrap();
    assert_broken(dir.path(), 27, Problem::HeadMismatch);
}

#[test]
fn detects_missing_or_malformed_head() {
    let (dir, _) = tamper_fixture();
    fs::write(dir.path().join(HEAD_FILE), "17 abc\n").unwrap();
    assert!(matches!(
        verify(dir.path()),
        Err(AuditError::HeadMalformed { .. })
    ));
    fs::remove_file(dir.path().join(HEAD_FILE)).unwrap();
    assert!(matches!(
        verify(dir.path()),
        Err(AuditError::HeadMissing { .. })
    ));
    let err = AuditLog::open(dir.path(), small()).unwrap_err();
    assert!(matches!(err, AuditError::HeadMissing { .. }), "{err:?}");
}

/// Re-seals every record from `from` on, as an attacker who edits record `from` would.
fn rewrite_from(dir: &Path, from: u64) {
    let mut segments = read_segments(dir);
    let mut prev = String::new();
    for (_, lines) in &mut segments {
        for line in lines.iter_mut() {
            let mut v: Map<String, Value> = serde_json::from_str(line).unwrap();
            let seq = v["seq"].as_u64().unwrap();
            if seq == from {
                v.insert("decision".into(), json!("deny"));
            }
            if seq >= from {
                let p = if seq == from {
                    v["prev"].as_str().unwrap().to_owned()
                } else {
                    prev.clone()
                };
                for f in ["seq", "prev", "hash"] {
                    v.remove(f);
                }
                let sealed = seal(v, seq, &p);
                *line = String::from_utf8(sealed.line).unwrap();
                prev = sealed.hash;
            } else {
                prev = v["hash"].as_str().unwrap().to_owned();
            }
        }
    }
    write_segments(&segments);
}

#[test]
fn rewritten_tail_is_caught_by_head() {
    let (dir, _) = tamper_fixture();
    rewrite_from(dir.path(), 17);
    assert_broken(dir.path(), 30, Problem::HeadMismatch);
}

#[test]
fn rewritten_tail_and_head_are_caught_by_an_anchor() {
    let (dir, receipts) = tamper_fixture();
    verify_with_anchor(dir.path(), 20, &receipts[19].hash).unwrap();
    verify_with_anchor(dir.path(), 20, &receipts[19].hash.to_uppercase()).unwrap();
    rewrite_from(dir.path(), 17);
    let new_last = tail(dir.path(), 1).unwrap()[0]["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    fs::write(
        dir.path().join(HEAD_FILE),
        format!("{:020} {new_last}\n", 30),
    )
    .unwrap();
    verify(dir.path()).unwrap();
    let anchor = (20, receipts[19].hash.as_str());
    match verify_with_anchor(dir.path(), anchor.0, anchor.1) {
        Err(AuditError::Broken {
            seq: 20,
            problem: Problem::AnchorMismatch,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn anchor_past_the_end_is_truncation() {
    let (dir, receipts) = tamper_fixture();
    let err = verify_with_anchor(dir.path(), 31, &receipts[0].hash).unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Truncated {
                seq: 31,
                claimed: 31,
                by: "the anchor",
                ..
            }
        ),
        "{err:?}"
    );
}

// ---- crashes ------------------------------------------------------------------------------

#[test]
fn torn_line_is_refused_then_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let receipts = write_log(dir.path(), 10, AuditOptions::default());
    let segment = list_segments(dir.path()).unwrap().remove(0).path;
    let good_len = fs::metadata(&segment).unwrap().len();
    let torn = br#"{"hash":"0123","decision":"al"#;
    let mut content = fs::read(&segment).unwrap();
    content.extend_from_slice(torn);
    fs::write(&segment, &content).unwrap();

    let err = AuditLog::open(dir.path(), AuditOptions::default()).unwrap_err();
    match &err {
        AuditError::Torn {
            file,
            offset,
            seq: 11,
        } => assert_eq!((file, *offset), (&segment, good_len)),
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&segment.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains(&format!("torn last line at byte offset {good_len}")),
        "{message}"
    );
    assert!(matches!(verify(dir.path()), Err(AuditError::Torn { .. })));
    // The tail leaves the torn line out.
    assert_eq!(seq_of(&tail(dir.path(), 1).unwrap()[0]), 10);

    let recovery = recover(dir.path()).unwrap().unwrap();
    assert_eq!(recovery.segment, segment);
    assert_eq!(
        (recovery.offset, recovery.bytes),
        (good_len, torn.len() as u64)
    );
    assert_eq!(fs::read(&recovery.quarantine).unwrap(), torn);
    assert_eq!(
        recovery.quarantine.file_name().unwrap().to_str().unwrap(),
        format!("{}.torn-{good_len}", segment_file_name(1))
    );
    assert_eq!(fs::metadata(&segment).unwrap().len(), good_len);
    assert!(
        recover(dir.path()).unwrap().is_none(),
        "nothing left to recover"
    );

    let log = AuditLog::open(dir.path(), AuditOptions::default()).unwrap();
    let r = log.append(rec(11)).unwrap();
    log.close().unwrap();
    assert_eq!(r.seq, 11);
    assert_eq!(
        tail(dir.path(), 1).unwrap()[0]["prev"],
        json!(receipts[9].hash)
    );
    let report = verify(dir.path()).unwrap();
    assert_eq!(report.records, 11);
}

#[test]
fn complete_but_garbled_last_line_is_torn() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 4, AuditOptions::default());
    let segment = list_segments(dir.path()).unwrap().remove(0).path;
    let good_len = fs::metadata(&segment).unwrap().len();
    let mut content = fs::read(&segment).unwrap();
    content.extend_from_slice(b"\0\0\0\0\n");
    fs::write(&segment, &content).unwrap();
    assert!(matches!(
        AuditLog::open(dir.path(), AuditOptions::default()),
        Err(AuditError::Torn { offset, seq: 5, .. }) if offset == good_len
    ));
    assert_eq!(recover(dir.path()).unwrap().unwrap().bytes, 5);
    write_log(dir.path(), 2, AuditOptions::default());
    assert_eq!(verify(dir.path()).unwrap().records, 6);
}

#[test]
fn torn_first_line_of_a_new_segment_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let receipts = write_log(dir.path(), 7, small());
    let firsts: Vec<u64> = list_segments(dir.path())
        .unwrap()
        .iter()
        .map(|s| s.first)
        .collect();
    assert_eq!(firsts, [1, 4, 7]);
    // Simulate a crash right after rollover: the next segment holds only part of a record.
    let new_segment = dir.path().join(segment_file_name(8));
    fs::write(&new_segment, br#"{"hash":"ab"#).unwrap();
    assert!(matches!(
        AuditLog::open(dir.path(), small()),
        Err(AuditError::Torn {
            offset: 0,
            seq: 8,
            ..
        })
    ));
    let recovery = recover(dir.path()).unwrap().unwrap();
    assert_eq!(
        (recovery.segment, recovery.offset),
        (new_segment.clone(), 0)
    );
    // An empty last segment is noted, not an error, and the writer reuses it.
    let report = verify(dir.path()).unwrap();
    assert_eq!(report.records, 7);
    assert!(
        report.notes.iter().any(|n| n.contains("is empty")),
        "{:?}",
        report.notes
    );
    let log = AuditLog::open(dir.path(), small()).unwrap();
    let r = log.append(padded(8)).unwrap();
    log.close().unwrap();
    assert_eq!(r.seq, 8);
    assert_eq!(
        tail(dir.path(), 1).unwrap()[0]["prev"],
        json!(receipts[6].hash)
    );
    assert!(fs::metadata(&new_segment).unwrap().len() > 0);
    assert_eq!(verify(dir.path()).unwrap().records, 8);
}

#[test]
fn tail_reads_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 10, small());
    let last4: Vec<u64> = tail(dir.path(), 4).unwrap().iter().map(seq_of).collect();
    assert_eq!(last4, [7, 8, 9, 10]);
    assert!(tail(dir.path(), 0).unwrap().is_empty());
    assert_eq!(tail(dir.path(), 1000).unwrap().len(), 10);
}

// ---- trust --------------------------------------------------------------------------------

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn a_directory_others_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o777, 0o770, 0o722] {
        chmod(dir.path(), mode);
        let err = AuditLog::open(dir.path(), AuditOptions::default()).unwrap_err();
        assert!(matches!(err, AuditError::Untrusted { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "audit log {}: writable by other users (mode {mode:o})",
                dir.path().display()
            )
        );
        assert!(matches!(
            verify(dir.path()),
            Err(AuditError::Untrusted { .. })
        ));
        assert!(matches!(
            recover(dir.path()),
            Err(AuditError::Untrusted { .. })
        ));
    }
    chmod(dir.path(), 0o700);
    write_log(dir.path(), 1, AuditOptions::default());
}

#[cfg(unix)]
#[test]
fn the_directory_is_created_0700_and_every_file_0600() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("new/audit");
    write_log(&log_dir, 2, AuditOptions::default());
    assert_eq!(mode_of(&log_dir), 0o700);
    assert_eq!(mode_of(dir.path().join("new").as_path()), 0o700);
    let segment = list_segments(&log_dir).unwrap().remove(0).path;
    assert_eq!(mode_of(&segment), 0o600);
    assert_eq!(mode_of(&log_dir.join(HEAD_FILE)), 0o600);

    let mut content = fs::read(&segment).unwrap();
    content.extend_from_slice(b"{\"hash\":\"ab");
    fs::write(&segment, &content).unwrap();
    let recovery = recover(&log_dir).unwrap().unwrap();
    assert_eq!(mode_of(&recovery.quarantine), 0o600);
}

#[cfg(unix)]
#[test]
fn a_segment_or_head_that_is_a_symlink_is_refused() {
    for name in [segment_file_name(1), HEAD_FILE.to_owned()] {
        let dir = tempfile::tempdir().unwrap();
        let log_dir = dir.path().join("audit");
        write_log(&log_dir, 2, AuditOptions::default());
        // Another user's trick: the file becomes a link to one the writer must not touch.
        let file = log_dir.join(&name);
        let target = dir.path().join("precious");
        fs::rename(&file, &target).unwrap();
        std::os::unix::fs::symlink(&target, &file).unwrap();
        let before = fs::read(&target).unwrap();

        let err = AuditLog::open(&log_dir, AuditOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "audit log {}: a symbolic link, which is never followed",
                file.display()
            ),
            "{name}"
        );
        let err = verify(&log_dir).unwrap_err();
        assert!(matches!(err, AuditError::Untrusted { .. }), "{name}: {err}");
        assert_eq!(fs::read(&target).unwrap(), before, "{name} untouched");
    }
}

#[test]
fn deleting_the_lock_file_does_not_let_a_second_writer_in() {
    let dir = tempfile::tempdir().unwrap();
    // A `LOCK` file, as older versions kept, is not what holds the log.
    fs::write(dir.path().join("LOCK"), b"").unwrap();
    let log = AuditLog::open(dir.path(), AuditOptions::default()).unwrap();
    fs::remove_file(dir.path().join("LOCK")).unwrap();
    let err = AuditLog::open(dir.path(), AuditOptions::default()).unwrap_err();
    assert!(matches!(err, AuditError::Locked { .. }), "{err}");
    assert!(matches!(
        recover(dir.path()),
        Err(AuditError::Locked { .. })
    ));
    log.append(rec(1)).unwrap();
    log.close().unwrap();
    write_log(dir.path(), 1, AuditOptions::default());
    assert_eq!(verify(dir.path()).unwrap().records, 2);
}

#[test]
fn a_segment_size_below_the_minimum_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for size in [0, MIN_SEGMENT_BYTES - 1] {
        let options = AuditOptions {
            max_segment_bytes: size,
            ..AuditOptions::default()
        };
        let err = AuditLog::open(dir.path(), options).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "audit log {}: segment size of {size} bytes is below the minimum of 65536 bytes (64 KiB)",
                dir.path().display()
            )
        );
    }
    assert!(list_segments(dir.path()).unwrap().is_empty());
}

/// Replaces the last record of a one-segment log with `body` (a record without `hash`, as
/// text), hashed as the writer would hash it, and moves HEAD to it: only the form of the body
/// is wrong.
fn forge_last_record(dir: &Path, body: &str) {
    let mut segments = read_segments(dir);
    let last = segments.last_mut().unwrap();
    let hash = crate::canonical::hex(&blake3::hash(body.as_bytes()));
    *last.1.last_mut().unwrap() = format!("{{\"hash\":\"{hash}\",{}\n", &body[1..]);
    let seq = last.1.len();
    write_segments(&segments);
    fs::write(dir.join(HEAD_FILE), format!("{seq:020} {hash}\n")).unwrap();
}

#[test]
fn a_record_with_a_key_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let receipts = write_log(dir.path(), 2, AuditOptions::default());
    let prev = &receipts[0].hash;
    forge_last_record(
        dir.path(),
        &format!(
            r#"{{"prev":"{prev}","seq":2,"tool":"shell","verdict":"deny","verdict":"allow"}}"#
        ),
    );
    match verify(dir.path()) {
        Err(AuditError::Broken {
            seq: 2,
            problem: Problem::Malformed { reason, .. },
            ..
        }) => assert!(reason.contains("duplicate"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // The writer will not continue after it either.
    assert!(matches!(
        AuditLog::open(dir.path(), AuditOptions::default()),
        Err(AuditError::Broken { seq: 2, .. })
    ));
}

#[test]
fn a_record_not_in_canonical_form_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let receipts = write_log(dir.path(), 2, AuditOptions::default());
    let prev = &receipts[0].hash;
    for body in [
        format!(r#"{{"seq":2,"prev":"{prev}","tool":"shell"}}"#),
        format!(r#"{{"prev":"{prev}","seq":2, "tool":"shell"}}"#),
        format!(r#"{{"prev":"{prev}","seq":2,"tool":"sh\u0065ll"}}"#),
        format!(r#"{{"prev":"{prev}","seq":2.0,"tool":"shell"}}"#),
    ] {
        forge_last_record(dir.path(), &body);
        match verify(dir.path()) {
            Err(AuditError::Broken {
                seq: 2,
                problem: Problem::Malformed { .. },
                ..
            }) => {}
            other => panic!("{body}: {other:?}"),
        }
    }
}

/// A log whose last line is torn, and the torn bytes.
fn torn_log() -> (tempfile::TempDir, PathBuf, u64, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 3, AuditOptions::default());
    let segment = list_segments(dir.path()).unwrap().remove(0).path;
    let offset = fs::metadata(&segment).unwrap().len();
    let torn = br#"{"hash":"0123","decision":"al"#.to_vec();
    let mut content = fs::read(&segment).unwrap();
    content.extend_from_slice(&torn);
    fs::write(&segment, &content).unwrap();
    (dir, segment, offset, torn)
}

#[test]
fn recovery_can_be_retried_after_it_failed() {
    // A full disk left an empty quarantine file; a crash after the rename left a full one.
    for leftover in [Vec::new(), br#"{"hash":"0123","decision":"al"#.to_vec()] {
        let (dir, segment, offset, torn) = torn_log();
        let quarantine = super::layout::quarantine_path(&segment, offset);
        fs::write(&quarantine, &leftover).unwrap();
        let recovery = recover(dir.path()).unwrap().unwrap();
        assert_eq!(recovery.quarantine, quarantine);
        assert_eq!(fs::read(&quarantine).unwrap(), torn);
        assert_eq!(fs::metadata(&segment).unwrap().len(), offset);
        write_log(dir.path(), 1, AuditOptions::default());
        assert_eq!(verify(dir.path()).unwrap().records, 4);
    }
}

#[test]
fn recovery_keeps_an_earlier_quarantine_with_other_bytes() {
    let (dir, segment, offset, torn) = torn_log();
    let quarantine = super::layout::quarantine_path(&segment, offset);
    fs::write(&quarantine, b"from an earlier crash").unwrap();
    let recovery = recover(dir.path()).unwrap().unwrap();
    assert_eq!(
        recovery.quarantine.file_name().unwrap().to_str().unwrap(),
        format!("{}.torn-{offset}.1", segment_file_name(1))
    );
    assert_eq!(fs::read(&recovery.quarantine).unwrap(), torn);
    assert_eq!(fs::read(&quarantine).unwrap(), b"from an earlier crash");
    assert_eq!(verify(dir.path()).unwrap().records, 3);
}
