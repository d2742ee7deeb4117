//! The writer: one thread per log that seals, writes and syncs records in batches.
//!
//! Callers send records through a bounded channel. The thread takes the first one, drains
//! whatever else is queued, seals them in order, writes the batch with one `write` per
//! segment it touches, syncs once, rewrites HEAD, and only then answers every caller of the
//! batch. A failed write or sync fails the whole batch and stops the writer: it never chains
//! over records that may be half on disk.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::oneshot;

use serde_json::{Map, Value};

use super::error::{AuditError, Problem, io_err};
use super::head::{Head, HeadFile, head};
use super::layout::{self, HEAD_FILE, open_file, segment_file_name, sync_dir};
use super::record::{reserved_field, seal};
use super::resume::{ChainEnd, chain_end};
use crate::private_dir::{self, Access};

/// How a log is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditOptions {
    /// A segment is closed, and the next record starts a new one, when that record would take
    /// the segment past this many bytes. A record larger than this gets a segment of its own.
    /// At least [`MIN_SEGMENT_BYTES`]. Default: 64 MiB.
    pub max_segment_bytes: u64,
    /// Sync each batch (and HEAD, and the directory when a file is created) before answering.
    /// Default: `true`. With `false` an answered record may still be lost, or HEAD may get
    /// ahead of the log, if the machine crashes: for throughput experiments only, never for a
    /// log that must survive a crash.
    pub fsync: bool,
    /// How many submitted records may wait for the writer; `submit` blocks when it is full.
    /// It also bounds one batch. Default: 4096.
    pub queue_capacity: usize,
}

/// The smallest [`AuditOptions::max_segment_bytes`]: 64 KiB. Smaller segments would mean a
/// file for every few records.
pub const MIN_SEGMENT_BYTES: u64 = 64 << 10;

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            max_segment_bytes: 64 * 1024 * 1024,
            fsync: true,
            queue_capacity: 4096,
        }
    }
}

/// What the log answers for a record once it is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The record's sequence number.
    pub seq: u64,
    /// The record's hash, 64 lowercase hex digits.
    pub hash: String,
}

type Reply = Result<Receipt, AuditError>;

struct Request {
    fields: Map<String, Value>,
    reply: oneshot::Sender<Reply>,
}

/// What a running log measures about itself, for a service's metrics.
#[derive(Debug, Clone)]
pub struct AuditMetrics {
    /// Records submitted and not yet answered.
    pub queued: Gauge,
    /// Seconds each batch took to write, sync and advance HEAD.
    pub commit_seconds: Histogram,
    /// Records per batch.
    pub batch_records: Histogram,
}

impl Default for AuditMetrics {
    fn default() -> Self {
        AuditMetrics {
            queued: Gauge::default(),
            // 50 µs .. ~1.6 s.
            commit_seconds: Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(50e-6, 2.0, 16),
            ),
            batch_records: Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(1.0, 2.0, 13),
            ),
        }
    }
}

/// State shared between the handle, the pending answers and the writer thread.
#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    /// Why the writer stopped, once it has.
    failure: Mutex<Option<String>>,
    metrics: AuditMetrics,
}

impl Shared {
    fn stopped(&self) -> Option<AuditError> {
        let failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        failure
            .as_ref()
            .map(|reason| self.stopped_error(reason.clone()))
    }

    fn stop(&self, reason: String) {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        failure.get_or_insert(reason);
    }

    fn stopped_error(&self, reason: String) -> AuditError {
        AuditError::Stopped {
            dir: self.dir.clone(),
            reason,
        }
    }
}

/// An open audit log: the only writer of its directory while it exists.
///
/// Share it between threads by reference (or in an `Arc`); every method takes `&self`.
/// Dropping it lets the writer finish what was submitted, then releases the lock.
#[derive(Debug)]
pub struct AuditLog {
    shared: Arc<Shared>,
    tx: Option<SyncSender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl AuditLog {
    /// Opens the log in `dir` for appending, creating the directory (mode 0700) and an empty
    /// log if there is none, and starts its writer thread.
    ///
    /// The directory must be private: owned by this user, not writable by group or others,
    /// and in no directory another user could replace it through (see
    /// [`crate::private_dir`]). Its files are never opened through a symbolic link, must be
    /// regular files owned by this user, and are created with mode 0600.
    ///
    /// # Errors
    ///
    /// [`AuditError::SegmentTooSmall`] if `max_segment_bytes` is below [`MIN_SEGMENT_BYTES`];
    /// [`AuditError::Untrusted`] if the directory is not private or a file of the log is a
    /// link, not a regular file, or another user's; [`AuditError::Locked`] if another writer
    /// has the log open; [`AuditError::Torn`] if the
    /// last line was cut off (see [`recover`](fn@super::recover)); [`AuditError::Truncated`] if
    /// HEAD names a record the log does not have; [`AuditError::Broken`] if the last record's
    /// hash is wrong or differs from HEAD's; [`AuditError::HeadMissing`] if the log has
    /// segments but no HEAD; [`AuditError::Io`] if a file cannot be created or read.
    pub fn open(dir: impl AsRef<Path>, options: AuditOptions) -> Result<AuditLog, AuditError> {
        let dir = dir.as_ref().to_path_buf();
        if options.max_segment_bytes < MIN_SEGMENT_BYTES {
            return Err(AuditError::SegmentTooSmall {
                dir,
                size: options.max_segment_bytes,
            });
        }
        if !dir.is_dir() {
            private_dir::create_private_dir(&dir).map_err(io_err(&dir, "create directory"))?;
            if let Some(parent) = dir
                .parent()
                .filter(|p| options.fsync && !p.as_os_str().is_empty())
            {
                sync_dir(parent)?;
            }
        }
        let lock = layout::lock(&dir)?;
        let segments = layout::list_segments(&dir)?;
        let end = chain_end(&segments)?;
        let head_file = match head(&dir) {
            Ok(head) => {
                check_head(&dir, &head, &end)?;
                HeadFile::open(&dir)?
            }
            Err(AuditError::HeadMissing { .. }) if segments.is_empty() => {
                HeadFile::create(&dir, options.fsync)?
            }
            Err(e) => return Err(e),
        };
        let segment = match &end.segment {
            Some((segment, len)) => Some(OpenSegment {
                file: open_file(
                    &segment.path,
                    OpenOptions::new().append(true),
                    Access::Own,
                    "open segment",
                )?
                .0,
                path: segment.path.clone(),
                len: *len,
            }),
            None => None,
        };
        tracing::debug!(dir = %dir.display(), last_seq = end.last_seq, "audit log opened");

        let shared = Arc::new(Shared {
            dir: dir.clone(),
            failure: Mutex::new(None),
            metrics: AuditMetrics::default(),
        });
        let (tx, rx) = mpsc::sync_channel(options.queue_capacity);
        let writer = Writer {
            dir: dir.clone(),
            _lock: lock,
            head: head_file,
            segment,
            next_seq: end.last_seq + 1,
            prev: end.last_hash,
            options,
            created: Vec::new(),
        };
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("lampart-audit".to_owned())
            .spawn(move || writer.run(&rx, &thread_shared))
            .map_err(io_err(&dir, "start writer thread"))?;
        Ok(AuditLog {
            shared,
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// What the log measures about itself (shared: the values move as the log runs).
    pub fn metrics(&self) -> &AuditMetrics {
        &self.shared.metrics
    }

    /// Why the writer stopped, if it has: a stopped log accepts no more records.
    pub fn stopped(&self) -> Option<AuditError> {
        self.shared.stopped()
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Appends `record` and waits until it is durable; returns its sequence number and hash.
    ///
    /// `record` must not set `seq`, `prev` or `hash`.
    ///
    /// # Errors
    ///
    /// [`AuditError::ReservedField`] for a record that sets one of them;
    /// [`AuditError::Io`] if its batch could not be written or synced (or, after the batch
    /// was synced, HEAD could not be updated: then the record is in the log, which reopening
    /// shows); [`AuditError::Stopped`] once an earlier batch failed.
    pub fn append(&self, record: Map<String, Value>) -> Result<Receipt, AuditError> {
        self.submit(record).wait()
    }

    /// Queues `record` for the writer and returns at once (unless the queue is full), so a
    /// caller can keep many records in flight; [`Pending::wait`] gives the answer.
    ///
    /// Records submitted from one thread get increasing sequence numbers in submission order.
    pub fn submit(&self, record: Map<String, Value>) -> Pending {
        if let Some(field) = reserved_field(&record) {
            return Pending::done(Err(AuditError::ReservedField {
                dir: self.shared.dir.clone(),
                field,
            }));
        }
        if let Some(err) = self.shared.stopped() {
            return Pending::done(Err(err));
        }
        let (reply, rx) = oneshot::channel();
        self.shared.metrics.queued.inc();
        let sent = self.tx.as_ref().map(|tx| {
            tx.send(Request {
                fields: record,
                reply,
            })
        });
        if !matches!(sent, Some(Ok(()))) {
            self.shared.metrics.queued.dec();
        }
        match sent {
            Some(Ok(())) => Pending(PendingState::Waiting {
                rx,
                shared: Arc::clone(&self.shared),
            }),
            _ => Pending::done(Err(self
                .shared
                .stopped_error("the writer thread has ended".into()))),
        }
    }

    /// Waits for everything submitted to be written, stops the writer and releases the lock.
    ///
    /// # Errors
    ///
    /// [`AuditError::Stopped`] if the writer had stopped after a failure (or panicked).
    pub fn close(mut self) -> Result<(), AuditError> {
        self.shutdown();
        match self.shared.stopped() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    fn shutdown(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            self.shared.stop("the writer thread panicked".to_owned());
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Refuses to continue a log whose HEAD is ahead of it or disagrees with its last record.
fn check_head(dir: &Path, head: &Head, end: &ChainEnd) -> Result<(), AuditError> {
    if head.seq > end.last_seq {
        return Err(AuditError::Truncated {
            dir: dir.to_path_buf(),
            seq: end.last_seq + 1,
            claimed: head.seq,
            by: "HEAD",
        });
    }
    if head.seq == end.last_seq && head.hash != end.last_hash {
        return Err(AuditError::Broken {
            file: end.last_file.clone().unwrap_or_else(|| dir.join(HEAD_FILE)),
            seq: head.seq,
            problem: Problem::HeadMismatch,
        });
    }
    if head.seq < end.last_seq {
        tracing::info!(
            dir = %dir.display(),
            head = head.seq,
            last = end.last_seq,
            "audit HEAD is behind the log (crash before HEAD was updated); continuing"
        );
    }
    Ok(())
}

/// The answer to a submitted record, to be waited for.
#[derive(Debug)]
#[must_use = "a record is known to be durable only once `wait` returns Ok"]
pub struct Pending(PendingState);

#[derive(Debug)]
enum PendingState {
    Done(Reply),
    Waiting {
        rx: oneshot::Receiver<Reply>,
        shared: Arc<Shared>,
    },
}

impl Pending {
    fn done(reply: Reply) -> Pending {
        Pending(PendingState::Done(reply))
    }

    /// Blocks until the record's batch is written and synced (or failed). Not from inside an
    /// async task: use [`Pending::durable`] there.
    ///
    /// # Errors
    ///
    /// As for [`AuditLog::append`].
    pub fn wait(self) -> Result<Receipt, AuditError> {
        match self.0 {
            PendingState::Done(reply) => reply,
            PendingState::Waiting { rx, shared } => rx
                .blocking_recv()
                .unwrap_or_else(|_| Err(ended_without_answer(&shared))),
        }
    }

    /// Waits, without blocking a thread, until the record's batch is written and synced (or
    /// failed).
    ///
    /// # Errors
    ///
    /// As for [`AuditLog::append`].
    pub async fn durable(self) -> Result<Receipt, AuditError> {
        match self.0 {
            PendingState::Done(reply) => reply,
            PendingState::Waiting { rx, shared } => rx
                .await
                .unwrap_or_else(|_| Err(ended_without_answer(&shared))),
        }
    }
}

fn ended_without_answer(shared: &Shared) -> AuditError {
    shared
        .stopped()
        .unwrap_or_else(|| shared.stopped_error("the writer thread ended without answering".into()))
}

/// The segment being appended to.
struct OpenSegment {
    file: File,
    path: PathBuf,
    len: u64,
}

/// The writer thread's state.
struct Writer {
    dir: PathBuf,
    /// The log's directory, locked for the thread's lifetime: closing it releases the lock.
    _lock: File,
    head: HeadFile,
    segment: Option<OpenSegment>,
    next_seq: u64,
    prev: String,
    options: AuditOptions,
    /// Segments created by the batch being written, removed again if it fails.
    created: Vec<PathBuf>,
}

/// Where the log ended before a batch: what a failed batch is rolled back to.
struct BatchStart {
    /// The segment being appended to and its length, if one was open.
    segment: Option<(PathBuf, u64)>,
    /// The last record before the batch.
    head: Head,
}

impl Writer {
    fn run(mut self, rx: &Receiver<Request>, shared: &Shared) {
        let max_batch = self.options.queue_capacity.max(1);
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            batch.extend(rx.try_iter().take(max_batch));
            if let Some(err) = shared.stopped() {
                shared.metrics.queued.dec_by(batch.len() as i64);
                for request in batch {
                    let _ = request.reply.send(Err(err.clone()));
                }
                continue;
            }
            let (fields, replies): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|r| (r.fields, r.reply)).unzip();
            let metrics = &shared.metrics;
            metrics.batch_records.observe(fields.len() as f64);
            let started = Instant::now();
            let committed = self.commit(fields);
            metrics
                .commit_seconds
                .observe(started.elapsed().as_secs_f64());
            metrics.queued.dec_by(replies.len() as i64);
            match committed {
                Ok(receipts) => {
                    for (reply, receipt) in replies.into_iter().zip(receipts) {
                        let _ = reply.send(Ok(receipt));
                    }
                }
                Err(err) => {
                    let dir = self.dir.display();
                    // The callers are told; this is for whoever reads the log's own trail.
                    tracing::debug!(dir = %dir, error = %err, "audit writer stopped");
                    shared.stop(err.to_string());
                    for reply in replies {
                        let _ = reply.send(Err(err.clone()));
                    }
                }
            }
        }
    }

    /// Seals, writes and syncs one batch, then updates HEAD. If any of it fails, the batch is
    /// taken back out of the log (see [`Writer::roll_back`]): no caller is told of a failure
    /// for a record that stays in the log.
    fn commit(&mut self, batch: Vec<Map<String, Value>>) -> Result<Vec<Receipt>, AuditError> {
        let start = BatchStart {
            segment: self.segment.as_ref().map(|s| (s.path.clone(), s.len)),
            head: Head {
                seq: self.next_seq - 1,
                hash: self.prev.clone(),
            },
        };
        self.created.clear();
        let result = self.write_batch(batch);
        if let Err(err) = &result {
            self.roll_back(&start, err);
        }
        result
    }

    /// Undoes a failed batch: truncates the segment it started in back to its length before
    /// the batch, removes the segments it created and puts HEAD back. Best effort: what cannot
    /// be undone is left as a torn or extra tail, which opening the log refuses until
    /// `recover` deals with it.
    fn roll_back(&mut self, start: &BatchStart, cause: &AuditError) {
        self.segment = None;
        let mut undone = true;
        for path in self.created.drain(..) {
            if let Err(err) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), "could not remove a failed batch's segment: {err}");
                undone = false;
            }
        }
        if let Some((path, len)) = &start.segment {
            let truncated = open_file(
                path,
                OpenOptions::new().write(true),
                Access::Own,
                "truncate segment",
            )
            .and_then(|(file, _)| {
                file.set_len(*len)
                    .and_then(|()| file.sync_all())
                    .map_err(io_err(path, "truncate segment"))
            });
            if let Err(err) = truncated {
                tracing::warn!(path = %path.display(), "could not truncate a failed batch: {err}");
                undone = false;
            }
        }
        if let Err(err) = sync_dir(&self.dir).and_then(|()| self.head.write(&start.head, true)) {
            tracing::warn!(dir = %self.dir.display(), "could not restore HEAD after a failed batch: {err}");
            undone = false;
        }
        tracing::debug!(dir = %self.dir.display(), error = %cause, undone, "failed audit batch rolled back");
    }

    /// Seals, writes and syncs the records of one batch, then updates HEAD.
    fn write_batch(&mut self, batch: Vec<Map<String, Value>>) -> Result<Vec<Receipt>, AuditError> {
        let mut receipts = Vec::with_capacity(batch.len());
        let mut pending = Vec::new();
        for fields in batch {
            let sealed = seal(fields, self.next_seq, &self.prev);
            let line_len = sealed.line.len() as u64;
            if let Some(segment) = &self.segment {
                let len = segment.len + pending.len() as u64;
                if len > 0 && len + line_len > self.options.max_segment_bytes {
                    self.flush(&mut pending)?;
                    self.segment = None;
                }
            }
            if self.segment.is_none() {
                self.segment = Some(self.create_segment(self.next_seq)?);
            }
            pending.extend_from_slice(&sealed.line);
            receipts.push(Receipt {
                seq: self.next_seq,
                hash: sealed.hash.clone(),
            });
            self.prev = sealed.hash;
            self.next_seq += 1;
        }
        self.flush(&mut pending)?;
        if let Some(last) = receipts.last() {
            let head = Head {
                seq: last.seq,
                hash: last.hash.clone(),
            };
            self.head.write(&head, self.options.fsync)?;
        }
        Ok(receipts)
    }

    /// Writes `pending` to the current segment with one write, syncs it, and clears it.
    fn flush(&mut self, pending: &mut Vec<u8>) -> Result<(), AuditError> {
        if pending.is_empty() {
            return Ok(());
        }
        let Some(segment) = self.segment.as_mut() else {
            unreachable!("a segment is opened before anything is queued for it");
        };
        segment
            .file
            .write_all(pending)
            .map_err(io_err(&segment.path, "write segment"))?;
        if self.options.fsync {
            segment
                .file
                .sync_data()
                .map_err(io_err(&segment.path, "sync segment"))?;
        }
        segment.len += pending.len() as u64;
        pending.clear();
        Ok(())
    }

    fn create_segment(&mut self, first: u64) -> Result<OpenSegment, AuditError> {
        let path = self.dir.join(segment_file_name(first));
        let (file, _) = open_file(
            &path,
            OpenOptions::new().append(true).create_new(true),
            Access::Own,
            "create segment",
        )?;
        self.created.push(path.clone());
        if self.options.fsync {
            sync_dir(&self.dir)?;
        }
        tracing::debug!(path = %path.display(), "audit segment started");
        Ok(OpenSegment { file, path, len: 0 })
    }
}
