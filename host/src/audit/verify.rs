//! Verification: reads every segment in order and checks the whole chain against HEAD.

use std::path::Path;

use super::error::{AuditError, Problem, trust_err};
use super::head::{Head, head};
use super::layout::{Segment, list_segments};
use super::record::{ZERO_HASH, is_json, parse_line};
use super::segment::LineReader;
use crate::private_dir::check_not_shared;

/// What [`verify`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many records were checked.
    pub records: u64,
    /// How many segment files were read.
    pub segments: usize,
    /// Sequence number of the last record; 0 for a log without records.
    pub last_seq: u64,
    /// Hash of the last record; 64 zeros for a log without records.
    pub last_hash: String,
    /// The HEAD file as read at the start.
    pub head: Head,
    /// Things worth knowing that are not tampering, e.g. HEAD behind the log after a crash.
    pub notes: Vec<String>,
}

/// Verifies the log in `dir`: every record's hash, each `prev` against the previous record's
/// hash, contiguous sequence numbers from 1 across segments, each segment's file name
/// against its first record, and HEAD against the end of the log.
///
/// A directory that group or others may write is refused ([`AuditError::Untrusted`]), and
/// so is a segment or HEAD that is a symbolic link or not a regular file. Each record must
/// be strict JSON (no key twice) in canonical form, so that every reader of the line sees
/// exactly the fields that were hashed.
///
/// It takes no lock, so it can run beside a writer; a record being written at that moment
/// may then show up as a torn last line, so verify a live log again before acting on that.
///
/// # Errors
///
/// The first problem found, naming the file and the first bad sequence number:
/// [`AuditError::Broken`] for an edited, deleted, inserted or reordered record or a deleted
/// segment, [`AuditError::Truncated`] for a log that ends before HEAD's record,
/// [`AuditError::Torn`] for a torn last line, [`AuditError::HeadMissing`] or
/// [`AuditError::HeadMalformed`] for a bad HEAD, [`AuditError::Untrusted`] for a directory
/// others may write or a file that is a link or not a regular file, [`AuditError::Io`] for a
/// file that cannot be read.
pub fn verify(dir: impl AsRef<Path>) -> Result<VerifyReport, AuditError> {
    verify_inner(dir.as_ref(), None)
}

/// Like [`verify`], and also checks that record `seq` has hash `hash` (64 hex digits): an
/// anchor the operator recorded outside the host, which catches a log rewritten from some
/// record on together with its HEAD.
///
/// # Errors
///
/// As for [`verify`], plus [`AuditError::Broken`] with [`Problem::AnchorMismatch`] if the
/// record's hash differs, and [`AuditError::Truncated`] if the log ends before `seq`.
pub fn verify_with_anchor(
    dir: impl AsRef<Path>,
    seq: u64,
    hash: &str,
) -> Result<VerifyReport, AuditError> {
    let anchor = Head {
        seq,
        hash: hash.to_ascii_lowercase(),
    };
    verify_inner(dir.as_ref(), Some(&anchor))
}

/// The chain as far as it has been checked.
struct Chain<'a> {
    next_seq: u64,
    prev: String,
    head: &'a Head,
    anchor: Option<&'a Head>,
}

fn verify_inner(dir: &Path, anchor: Option<&Head>) -> Result<VerifyReport, AuditError> {
    // A log others may write proves nothing; its files are read without following links.
    check_not_shared(dir).map_err(trust_err(dir, "open log directory"))?;
    // HEAD first: a writer only moves it after the records are on disk, so every record it
    // names is in the segments listed afterwards.
    let head = head(dir)?;
    let segments = list_segments(dir)?;
    let mut chain = Chain {
        next_seq: 1,
        prev: ZERO_HASH.to_owned(),
        head: &head,
        anchor,
    };
    let mut notes = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let is_last = i + 1 == segments.len();
        let count = check_segment(segment, is_last, &mut chain)?;
        if count == 0 {
            if !is_last {
                return Err(broken(segment, chain.next_seq, Problem::EmptySegment));
            }
            notes.push(format!(
                "last segment {} is empty (created just before a crash, or emptied by recovery)",
                segment.path.display()
            ));
        }
    }
    let last_seq = chain.next_seq - 1;
    if head.seq > last_seq {
        return Err(truncated(dir, last_seq, head.seq, "HEAD"));
    }
    if head.seq < last_seq {
        notes.push(format!(
            "HEAD is at record {}, behind the last record {last_seq} (crash between a batch's \
             sync and HEAD's update?); records {}..={last_seq} are chained",
            head.seq,
            head.seq + 1
        ));
    }
    if let Some(anchor) = anchor {
        if anchor.seq > last_seq {
            return Err(truncated(dir, last_seq, anchor.seq, "the anchor"));
        }
        if anchor.seq == 0 && anchor.hash != ZERO_HASH {
            return Err(AuditError::Broken {
                file: dir.to_path_buf(),
                seq: 0,
                problem: Problem::AnchorMismatch,
            });
        }
    }
    Ok(VerifyReport {
        records: last_seq,
        segments: segments.len(),
        last_seq,
        last_hash: chain.prev,
        head,
        notes,
    })
}

/// Checks one segment's records against the chain; returns how many there were.
fn check_segment(segment: &Segment, is_last: bool, chain: &mut Chain) -> Result<u64, AuditError> {
    if segment.first != chain.next_seq {
        return Err(broken(
            segment,
            chain.next_seq,
            Problem::SegmentStart {
                named: segment.first,
            },
        ));
    }
    let mut reader = LineReader::open(&segment.path)?;
    let mut count = 0;
    while let Some(line) = reader.next_line()? {
        let seq = chain.next_seq;
        let at_end = line.offset + line.bytes.len() as u64 + 1 >= reader.len();
        let torn = !line.complete || (at_end && !is_json(&line.bytes));
        if torn && is_last {
            return Err(AuditError::Torn {
                file: segment.path.clone(),
                offset: line.offset,
                seq,
            });
        }
        let malformed = |reason: String| {
            broken(
                segment,
                seq,
                Problem::Malformed {
                    offset: line.offset,
                    reason,
                },
            )
        };
        if !line.complete {
            return Err(malformed("no newline at the end of the segment".to_owned()));
        }
        let record = parse_line(&line.bytes).map_err(malformed)?;
        let problem = if !record.hash_ok {
            Some(Problem::HashMismatch)
        } else if record.seq > seq {
            Some(Problem::Missing { next: record.seq })
        } else if record.seq < seq {
            Some(Problem::Repeated { found: record.seq })
        } else if record.prev != chain.prev {
            Some(Problem::PrevMismatch)
        } else if chain.head.seq == seq && chain.head.hash != record.hash {
            Some(Problem::HeadMismatch)
        } else if chain
            .anchor
            .is_some_and(|a| a.seq == seq && a.hash != record.hash)
        {
            Some(Problem::AnchorMismatch)
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(broken(segment, seq, problem));
        }
        chain.prev = record.hash;
        chain.next_seq += 1;
        count += 1;
    }
    Ok(count)
}

fn broken(segment: &Segment, seq: u64, problem: Problem) -> AuditError {
    AuditError::Broken {
        file: segment.path.clone(),
        seq,
        problem,
    }
}

fn truncated(dir: &Path, last_seq: u64, claimed: u64, by: &'static str) -> AuditError {
    AuditError::Truncated {
        dir: dir.to_path_buf(),
        seq: last_seq + 1,
        claimed,
        by,
    }
}
