//! The audit log: every decision the host makes, appended to a tamper-evident, hash-chained
//! log in a directory.
//!
//! Open a log with [`AuditLog::open`], append with [`AuditLog::append`] (or keep many records
//! in flight with [`AuditLog::submit`] and [`Pending::wait`]), check one with [`verify`] or
//! [`verify_with_anchor`], read the end with [`tail`] and [`head`], and after a crash in the
//! middle of a write, [`recover`].
//!
//! # On-disk format
//!
//! A log is a directory holding:
//!
//! | file | what it is |
//! | --- | --- |
//! | `audit-<20 digits>.jsonl` | a segment: records, one per line; the digits are the first record's `seq`, zero-padded |
//! | `HEAD` | the last synced record's `seq` and `hash` |
//! | `audit-<20 digits>.jsonl.torn-<offset>` | bytes [`recover`] removed from that segment, starting at that byte offset (`.torn-<offset>.<n>` if that name held other bytes) |
//!
//! Any other file is ignored (including the `LOCK` file older versions kept).
//!
//! ## Who may write it
//!
//! The records hold the arguments of every tool call, and they are evidence, so the
//! directory must be private to the user that writes the log: the writer and [`recover`]
//! refuse ([`AuditError::Untrusted`]) a directory that another user owns, that group or
//! others may write, or that sits in a directory someone other than this user or root could
//! replace it through (one writable by others without the sticky bit); see
//! [`crate::private_dir`]. A missing directory is created with mode 0700 and every file with
//! mode 0600. Segments and HEAD are never opened through a symbolic link, must be regular
//! files, and the writer only writes files this user owns. [`verify`] refuses a directory
//! that group or others may write, but does not need to own the log.
//!
//! ## Records
//!
//! A record is a JSON object: the fields the caller supplied plus three the log sets:
//!
//! - `seq`: its sequence number, an integer counting from 1, contiguous across segments;
//! - `prev`: the `hash` of the record before it, or 64 zeros (`"000…0"`) for record 1;
//! - `hash`: blake3 over the record's *body*, as 64 lowercase hex digits.
//!
//! The body is the canonical JSON (see [`crate::canonical`]: compact, object keys sorted by
//! their UTF-8 bytes at every depth) of the record with every field except `hash`, so it
//! includes `seq` and `prev`. Each record is one line of UTF-8, ending in `\n`, laid out as
//!
//! ```text
//! {"hash":"<64 hex digits>",<the body without its leading "{">\n
//! ```
//!
//! That is: the first 9 bytes are `{"hash":"`, bytes 9..73 are the hash, bytes 73..75 are
//! `",`, and `{` followed by the bytes from 75 up to the newline is exactly the body that was
//! hashed. The line is itself valid JSON with all the record's fields, so `jq` reads it; a
//! verifier hashes the stored bytes. Because JSON readers disagree about a key given twice,
//! the body must also be strict JSON (no key twice, no integer beyond 64 bits) and exactly
//! the canonical form of what it parses to, so that every reader sees the fields that were
//! hashed. For example, record 1
//! with the caller's fields `{"decision":"allow","tool":"shell"}`:
//!
//! ```text
//! {"hash":"<h>","decision":"allow","prev":"0000…0000","seq":1,"tool":"shell"}
//! ```
//!
//! where `<h>` is blake3 of `{"decision":"allow","prev":"0000…0000","seq":1,"tool":"shell"}`.
//!
//! ## Segments
//!
//! Records go to the newest segment until the next record would take it past
//! [`AuditOptions::max_segment_bytes`] (default 64 MiB, at least [`MIN_SEGMENT_BYTES`]); that record starts a new segment named
//! after its own `seq`. A record never spans two segments, and the chain simply continues:
//! the first record of a segment has as `prev` the hash of the last record of the one before.
//! A segment is created only to receive a record, so only a crash right after creating one
//! (or a [`recover`] that removed its only line) leaves an empty segment, and only as the last.
//!
//! ## HEAD
//!
//! Exactly 86 bytes, rewritten in place after every synced batch: the last record's `seq` as
//! 20 zero-padded decimal digits, a space, its `hash`, a newline. A new log has
//! `00000000000000000000` and 64 zeros. HEAD is created before any segment and only moved
//! after the records it names are synced, so it never names a record the log lacks — unless
//! records were cut off (or the log ran with `fsync: false` through a machine crash). HEAD
//! *behind* the log (a crash between a batch's sync and HEAD's update) is normal.
//!
//! ## Writing
//!
//! One writer thread per log, guarded by an exclusive lock (`flock`) on the directory itself,
//! held while the log is open: deleting or replacing a file cannot let a second writer in. It takes every record queued,
//! assigns `seq` and `prev` in order, writes the batch to the segment with one write (one per
//! segment if the batch crosses a rollover), calls `fdatasync` once, rewrites HEAD and syncs
//! it, and only then answers the callers. When it creates a segment it also syncs the
//! directory. A failed write or sync fails the batch's callers and stops the writer for good:
//! the log must be reopened, which refuses a torn tail until [`recover`] has dealt with it.
//!
//! ## Verifying
//!
//! [`verify`] reads HEAD, then every segment in order of the number in its name, and checks:
//!
//! 1. each segment's name is the `seq` the chain has reached (else a segment was deleted,
//!    inserted or renamed), and no segment but the last is empty;
//! 2. each line ends in `\n` and is laid out as above, with a strict, canonical body (a bad
//!    last line of the last segment is reported as torn, with file and offset; elsewhere, and
//!    a complete line that is JSON but not canonical, as malformed);
//! 3. blake3 of `{` + bytes 75.. equals bytes 9..73 (else the record was edited);
//! 4. its `seq` is the next expected one (larger: records deleted; smaller: inserted or
//!    reordered) and its `prev` is the previous record's hash;
//! 5. the record HEAD names has HEAD's hash, and HEAD's `seq` is not past the end of the log
//!    (else the log was truncated; the first missing `seq` is reported). HEAD behind the log
//!    is only a note.
//!
//! Every error names the first bad `seq`: the one the chain expected where the problem is.
//! A consistent rewrite of the whole tail of the log *and* HEAD cannot be detected from the
//! log alone; for that an operator records `(seq, hash)` anchors elsewhere (from [`head`] or
//! receipts) and checks them with [`verify_with_anchor`].
//!
//! The same checks fit in a short script. In Python (with the `blake3` package):
//!
//! ```python
//! import json, os, re, sys
//! from blake3 import blake3
//!
//! def unique(pairs):
//!     assert len({k for k, _ in pairs}) == len(pairs), "a key given twice"
//!     return dict(pairs)
//!
//! def verify(d):
//!     segs = sorted((int(m[1]), n) for n in os.listdir(d)
//!                   if (m := re.fullmatch(r"audit-(\d{20})\.jsonl", n)))
//!     head = open(os.path.join(d, "HEAD"), "rb").read()
//!     assert len(head) == 86, "HEAD is malformed"
//!     head_seq, head_hash = int(head[:20]), head[21:85].decode()
//!     seq, prev = 1, "0" * 64
//!     for first, name in segs:
//!         assert first == seq, f"{name}: named {first}, expected record {seq}"
//!         data = open(os.path.join(d, name), "rb").read()
//!         assert data.endswith(b"\n") or not data, f"{name}: torn last line"
//!         for line in data.split(b"\n")[:-1]:
//!             assert line[:9] == b'{"hash":"' and line[73:75] == b'",', f"record {seq}: layout"
//!             h, body = line[9:73].decode(), b"{" + line[75:]
//!             assert blake3(body).hexdigest() == h, f"record {seq}: hash mismatch"
//!             rec = json.loads(body, object_pairs_hook=unique)
//!             # Canonical form (as Python writes it for records without exponent floats).
//!             assert json.dumps(rec, sort_keys=True, separators=(",", ":"),
//!                               ensure_ascii=False).encode() == body, f"record {seq}: form"
//!             assert rec["seq"] == seq, f"record {seq}: found seq {rec['seq']}"
//!             assert rec["prev"] == prev, f"record {seq}: prev mismatch"
//!             assert seq != head_seq or h == head_hash, f"record {seq}: HEAD differs"
//!             seq, prev = seq + 1, h
//!     assert head_seq < seq, f"record {seq}: missing, HEAD names {head_seq}"
//!     print(f"ok: {seq - 1} records, last hash {prev}")
//!
//! verify(sys.argv[1])
//! ```
//!
//! ## Crash recovery
//!
//! A crash in the middle of a write can leave the last segment ending in a torn line (no
//! newline, or not JSON). Opening such a log fails with [`AuditError::Torn`], naming the file
//! and byte offset: the writer never chains over it. [`recover`] writes the torn bytes to a
//! temporary file, syncs it and renames it to `<segment>.torn-<offset>`, then truncates the
//! segment to the end of its last complete line and syncs it; the log then opens and
//! continues from the last good record. If it fails half way (a full disk), running it again
//! is safe: an empty quarantine file, or one with the same bytes, is replaced. The torn record was
//! never answered (its batch had not been synced), so no caller was told it was kept.
//!
//! [`verify`]: fn@verify
//! [`recover`]: fn@recover
//! [`head`]: fn@head

mod error;
mod head;
mod layout;
mod read;
pub(crate) mod record;
mod recover;
mod resume;
mod segment;
mod verify;
mod writer;

#[cfg(test)]
mod tests;

pub use error::{AuditError, Problem};
pub use head::{Head, head};
pub use read::tail;
pub use recover::{Recovery, recover};
pub use verify::{VerifyReport, verify, verify_with_anchor};
pub use writer::{AuditLog, AuditMetrics, AuditOptions, MIN_SEGMENT_BYTES, Pending, Receipt};
