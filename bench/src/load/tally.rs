//! What one phase of a run (warm-up or measurement) saw: latencies, statuses and errors.

use std::collections::BTreeMap;
use std::time::Duration;

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The TCP connection or the HTTP/1.1 handshake failed.
    Connect,
    /// The connection failed while sending the request or reading the answer.
    Transport,
    /// The answer took longer than `--timeout`.
    Timeout,
}

impl ErrorKind {
    /// The name used in the report.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Transport => "transport",
            ErrorKind::Timeout => "timeout",
        }
    }
}

/// Counts of one phase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// The latency of every answered request, nanoseconds, in no particular order.
    pub latencies_ns: Vec<u64>,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests without an answer, by why.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// The first error's message, to show what went wrong.
    pub first_error: Option<String>,
}

impl Tally {
    /// Counts an answer with `status` that took `latency`.
    pub fn answer(&mut self, status: u16, latency: Duration) {
        self.latencies_ns
            .push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
        *self.statuses.entry(status).or_default() += 1;
    }

    /// Counts a request without an answer.
    pub fn error(&mut self, kind: ErrorKind, message: impl FnOnce() -> String) {
        *self.errors.entry(kind).or_default() += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("{}: {}", kind.name(), message()));
        }
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: Tally) {
        self.latencies_ns.extend(other.latencies_ns);
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        for (kind, count) in other.errors {
            *self.errors.entry(kind).or_default() += count;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// Answered requests.
    pub fn answered(&self) -> u64 {
        self.statuses.values().sum()
    }

    /// Requests without an answer.
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Answers whose status is not `expected`, plus requests without an answer.
    pub fn unexpected(&self, expected: u16) -> u64 {
        let other: u64 = self
            .statuses
            .iter()
            .filter(|(status, _)| **status != expected)
            .map(|(_, count)| count)
            .sum();
        other + self.failed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_counts_and_keeps_the_first_error() {
        let mut a = Tally::default();
        a.answer(200, Duration::from_micros(5));
        a.error(ErrorKind::Timeout, || "slow".into());
        let mut b = Tally::default();
        b.answer(200, Duration::from_micros(7));
        b.answer(503, Duration::from_micros(1));
        b.error(ErrorKind::Connect, || "refused".into());
        b.error(ErrorKind::Connect, || "refused again".into());
        a.merge(b);
        assert_eq!(a.answered(), 3);
        assert_eq!(a.failed(), 3);
        assert_eq!(a.statuses[&200], 2);
        assert_eq!(a.errors[&ErrorKind::Connect], 2);
        assert_eq!(a.first_error.as_deref(), Some("timeout: slow"));
        assert_eq!(a.latencies_ns.len(), 3);
        assert_eq!(a.unexpected(200), 4);
        assert_eq!(a.unexpected(503), 5);
    }
}
