//! The wall-clock backstop: a thread that advances the engine's epoch at a fixed interval.
//!
//! Every store gets a deadline counted in ticks; a plugin still running when the epoch passes
//! its deadline traps with `Trap::Interrupt`. Fuel is the deterministic bound, this is the
//! backstop for time spent outside fuel accounting (host calls, page faults, a slow machine).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Advances an engine's epoch every `interval` until dropped.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    interval: Duration,
}

impl EpochTicker {
    /// Starts the ticking thread.
    pub(crate) fn start(engine: wasmtime::Engine, interval: Duration) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("lampart-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(interval);
                    engine.increment_epoch();
                }
            })?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
            interval,
        })
    }

    /// The number of ticks to allow for a deadline: rounded up, plus one for the tick
    /// already under way when the store starts.
    pub(crate) fn ticks_for(&self, deadline: Duration) -> u64 {
        let interval = self.interval.as_nanos().max(1);
        let ticks = deadline.as_nanos().div_ceil(interval);
        u64::try_from(ticks)
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
