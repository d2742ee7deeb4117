//! Where the chain stands on disk, read from the end of the last segment when a writer opens.

use std::path::PathBuf;

use super::error::{AuditError, Problem};
use super::layout::Segment;
use super::record::{ZERO_HASH, parse_line};
use super::segment::{Line, TailScan, scan_tail};

/// The end of the chain on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainEnd {
    /// Sequence number of the last record; 0 for a log without records.
    pub(crate) last_seq: u64,
    /// Hash of the last record; 64 zeros for a log without records.
    pub(crate) last_hash: String,
    /// The segment holding the last record, if there is one.
    pub(crate) last_file: Option<PathBuf>,
    /// The segment appends continue in (the last one) and its length, if there is one.
    pub(crate) segment: Option<(Segment, u64)>,
}

/// Finds the end of the chain from the last segment (or, if the last one is empty, the one
/// before it). Refuses a torn last line and a last record whose hash does not match.
pub(crate) fn chain_end(segments: &[Segment]) -> Result<ChainEnd, AuditError> {
    let Some(last) = segments.last() else {
        return Ok(ChainEnd {
            last_seq: 0,
            last_hash: ZERO_HASH.to_owned(),
            last_file: None,
            segment: None,
        });
    };
    let scan = scan_tail(&last.path, 2)?;
    refuse_torn(last, &scan)?;
    let appending_to = Some((last.clone(), scan.len));
    let (holder, lines) = if scan.lines.is_empty() {
        // An empty last segment: created at rollover just before a crash, or emptied by
        // recovery. The chain ends in the segment before it.
        let Some(holder) = segments.len().checked_sub(2).map(|i| &segments[i]) else {
            if last.first != 1 {
                return Err(broken(last, 1, Problem::SegmentStart { named: last.first }));
            }
            return Ok(ChainEnd {
                last_seq: 0,
                last_hash: ZERO_HASH.to_owned(),
                last_file: None,
                segment: appending_to,
            });
        };
        let scan = scan_tail(&holder.path, 2)?;
        refuse_torn(holder, &scan)?;
        if scan.lines.is_empty() {
            return Err(broken(holder, holder.first, Problem::EmptySegment));
        }
        (holder, scan.lines)
    } else {
        (last, scan.lines)
    };
    let (line, before) = lines.split_last().expect("checked non-empty");
    let record = parse_line(&line.bytes).map_err(|reason| {
        broken(
            holder,
            next_seq_after(holder, before),
            Problem::Malformed {
                offset: line.offset,
                reason,
            },
        )
    })?;
    if !record.hash_ok {
        return Err(broken(holder, record.seq, Problem::HashMismatch));
    }
    if holder != last && last.first != record.seq + 1 {
        return Err(broken(
            last,
            record.seq + 1,
            Problem::SegmentStart { named: last.first },
        ));
    }
    Ok(ChainEnd {
        last_seq: record.seq,
        last_hash: record.hash,
        last_file: Some(holder.path.clone()),
        segment: appending_to,
    })
}

/// Refuses a segment whose tail is torn: the writer must never chain over it.
fn refuse_torn(segment: &Segment, scan: &TailScan) -> Result<(), AuditError> {
    match scan.torn_offset() {
        Some(offset) => Err(AuditError::Torn {
            file: segment.path.clone(),
            offset,
            seq: next_seq_after(segment, scan.good_lines()),
        }),
        None => Ok(()),
    }
}

/// The sequence number that follows the last of `lines` in `segment`, as well as can be told.
fn next_seq_after(segment: &Segment, lines: &[Line]) -> u64 {
    lines
        .last()
        .and_then(|l| parse_line(&l.bytes).ok())
        .map_or(segment.first, |r| r.seq + 1)
}

fn broken(segment: &Segment, seq: u64, problem: Problem) -> AuditError {
    AuditError::Broken {
        file: segment.path.clone(),
        seq,
        problem,
    }
}
