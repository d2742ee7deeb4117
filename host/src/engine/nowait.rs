//! The WASI calls that could wait, made to return at once.
//!
//! A host call is not WebAssembly: the epoch deadline cannot interrupt it, so a call that
//! waits would outlive any deadline (a plugin calling `std::thread::sleep` would hold its
//! thread for as long as it asked). The WASI p2 imports that can wait are the clock
//! subscriptions (`wasi:clocks/monotonic-clock.subscribe-duration`, `subscribe-instant`),
//! `wasi:io/poll.poll`, `pollable.block`, and the `blocking-*` methods of
//! `wasi:io/streams` (stdin, stdout, stderr). They are linked over wasmtime-wasi's own:
//!
//! * plugins have no clock (the monotonic clock reads 0 and never moves), so a clock
//!   subscription is ready at once: a sleep of any length returns immediately, the same
//!   way every time;
//! * `poll`, `block` and the blocking stream methods run wasmtime-wasi's implementation
//!   for one step and trap if it would have to wait. The streams a plugin can reach
//!   (closed stdin, discarded stdout, the kept tail of stderr) are always ready, so in
//!   practice only a plugin waiting on something that can never happen traps.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::bindings::sync::io::{poll, streams};
use wasmtime_wasi::p2::{DynPollable, Pollable, StreamError, StreamResult, subscribe};
use wasmtime_wasi_io::bindings::wasi::io::{poll as async_poll, streams as async_streams};

/// Links the non-waiting clock, poll and stream functions over those already in `linker`
/// (which must hold wasmtime-wasi's p2 imports).
pub(crate) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let linked = (|| {
        monotonic_clock::add_to_linker::<T, NoWait>(linker, |state| {
            NoWaitTable(state.ctx().table)
        })?;
        poll::add_to_linker::<T, NoWait>(linker, |state| NoWaitTable(state.ctx().table))?;
        streams::add_to_linker::<T, NoWait>(linker, |state| NoWaitTable(state.ctx().table))
    })();
    linker.allow_shadowing(false);
    linked
}

/// Runs `future` for one step: its output if it is done, else a trap naming `what`.
fn at_once<F: Future>(what: &str, future: F) -> wasmtime::Result<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err(wasmtime::format_err!(
            "`{what}` would wait, and a plugin may not wait: it has no clock and nothing to wait for"
        )),
    }
}

/// [`at_once`] for a stream operation: a wait becomes the stream's trap.
fn stream_at_once<T, F>(what: &str, future: F) -> StreamResult<T>
where
    F: Future<Output = StreamResult<T>>,
{
    at_once(what, future).map_err(StreamError::Trap)?
}

/// The [`HasData`] marker for the non-waiting implementations.
struct NoWait;

impl HasData for NoWait {
    type Data<'a> = NoWaitTable<'a>;
}

/// A store's resource table, seen through the non-waiting implementations.
struct NoWaitTable<'a>(&'a mut ResourceTable);

/// The pollable of a clock subscription: ready at once, since plugin time never moves.
struct Elapsed;

#[wasmtime_wasi::async_trait]
impl Pollable for Elapsed {
    async fn ready(&mut self) {}
}

impl NoWaitTable<'_> {
    fn elapsed(&mut self) -> wasmtime::Result<Resource<DynPollable>> {
        let elapsed = self.0.push(Elapsed)?;
        subscribe(self.0, elapsed)
    }
}

impl monotonic_clock::Host for NoWaitTable<'_> {
    fn now(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        Ok(0)
    }

    fn resolution(&mut self) -> wasmtime::Result<monotonic_clock::Duration> {
        Ok(1_000_000_000)
    }

    fn subscribe_instant(
        &mut self,
        _when: monotonic_clock::Instant,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.elapsed()
    }

    fn subscribe_duration(
        &mut self,
        _duration: monotonic_clock::Duration,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.elapsed()
    }
}

impl poll::Host for NoWaitTable<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        at_once(
            "wasi:io/poll.poll",
            async_poll::Host::poll(self.0, pollables),
        )?
    }
}

impl poll::HostPollable for NoWaitTable<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        at_once(
            "pollable.ready",
            async_poll::HostPollable::ready(self.0, pollable),
        )?
    }

    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        at_once(
            "wasi:io/poll.pollable.block",
            async_poll::HostPollable::block(self.0, pollable),
        )?
    }

    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        async_poll::HostPollable::drop(self.0, pollable)
    }
}

impl streams::Host for NoWaitTable<'_> {
    fn convert_stream_error(&mut self, err: StreamError) -> wasmtime::Result<streams::StreamError> {
        streams::Host::convert_stream_error(self.0, err)
    }
}

impl streams::HostInputStream for NoWaitTable<'_> {
    fn drop(&mut self, stream: Resource<streams::InputStream>) -> wasmtime::Result<()> {
        at_once(
            "input-stream.drop",
            async_streams::HostInputStream::drop(self.0, stream),
        )?
    }

    fn read(&mut self, stream: Resource<streams::InputStream>, len: u64) -> StreamResult<Vec<u8>> {
        streams::HostInputStream::read(self.0, stream, len)
    }

    fn blocking_read(
        &mut self,
        stream: Resource<streams::InputStream>,
        len: u64,
    ) -> StreamResult<Vec<u8>> {
        stream_at_once(
            "input-stream.blocking-read",
            async_streams::HostInputStream::blocking_read(self.0, stream, len),
        )
    }

    fn skip(&mut self, stream: Resource<streams::InputStream>, len: u64) -> StreamResult<u64> {
        streams::HostInputStream::skip(self.0, stream, len)
    }

    fn blocking_skip(
        &mut self,
        stream: Resource<streams::InputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        stream_at_once(
            "input-stream.blocking-skip",
            async_streams::HostInputStream::blocking_skip(self.0, stream, len),
        )
    }

    fn subscribe(
        &mut self,
        stream: Resource<streams::InputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        streams::HostInputStream::subscribe(self.0, stream)
    }
}

impl streams::HostOutputStream for NoWaitTable<'_> {
    fn drop(&mut self, stream: Resource<streams::OutputStream>) -> wasmtime::Result<()> {
        at_once(
            "output-stream.drop",
            async_streams::HostOutputStream::drop(self.0, stream),
        )?
    }

    fn check_write(&mut self, stream: Resource<streams::OutputStream>) -> StreamResult<u64> {
        streams::HostOutputStream::check_write(self.0, stream)
    }

    fn write(
        &mut self,
        stream: Resource<streams::OutputStream>,
        bytes: Vec<u8>,
    ) -> StreamResult<()> {
        streams::HostOutputStream::write(self.0, stream, bytes)
    }

    fn blocking_write_and_flush(
        &mut self,
        stream: Resource<streams::OutputStream>,
        bytes: Vec<u8>,
    ) -> StreamResult<()> {
        stream_at_once(
            "output-stream.blocking-write-and-flush",
            async_streams::HostOutputStream::blocking_write_and_flush(self.0, stream, bytes),
        )
    }

    fn blocking_write_zeroes_and_flush(
        &mut self,
        stream: Resource<streams::OutputStream>,
        len: u64,
    ) -> StreamResult<()> {
        stream_at_once(
            "output-stream.blocking-write-zeroes-and-flush",
            async_streams::HostOutputStream::blocking_write_zeroes_and_flush(self.0, stream, len),
        )
    }

    fn subscribe(
        &mut self,
        stream: Resource<streams::OutputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        streams::HostOutputStream::subscribe(self.0, stream)
    }

    fn write_zeroes(
        &mut self,
        stream: Resource<streams::OutputStream>,
        len: u64,
    ) -> StreamResult<()> {
        streams::HostOutputStream::write_zeroes(self.0, stream, len)
    }

    fn flush(&mut self, stream: Resource<streams::OutputStream>) -> StreamResult<()> {
        streams::HostOutputStream::flush(self.0, stream)
    }

    fn blocking_flush(&mut self, stream: Resource<streams::OutputStream>) -> StreamResult<()> {
        stream_at_once(
            "output-stream.blocking-flush",
            async_streams::HostOutputStream::blocking_flush(self.0, stream),
        )
    }

    fn splice(
        &mut self,
        dst: Resource<streams::OutputStream>,
        src: Resource<streams::InputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        streams::HostOutputStream::splice(self.0, dst, src, len)
    }

    fn blocking_splice(
        &mut self,
        dst: Resource<streams::OutputStream>,
        src: Resource<streams::InputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        stream_at_once(
            "output-stream.blocking-splice",
            async_streams::HostOutputStream::blocking_splice(self.0, dst, src, len),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_future_that_would_wait_traps_instead() {
        assert_eq!(at_once("ready", async { 7 }).unwrap(), 7);
        let err = at_once("wasi:io/poll.poll", std::future::pending::<()>()).unwrap_err();
        assert!(
            err.to_string().contains("`wasi:io/poll.poll` would wait"),
            "{err}"
        );
    }

    #[test]
    fn a_sleep_of_any_length_is_over_at_once() {
        let mut table = ResourceTable::new();
        let mut clock = NoWaitTable(&mut table);
        let pollable = monotonic_clock::Host::subscribe_duration(&mut clock, u64::MAX).unwrap();
        let started = std::time::Instant::now();
        poll::HostPollable::block(&mut clock, Resource::new_borrow(pollable.rep())).unwrap();
        let ready = poll::Host::poll(&mut clock, vec![Resource::new_borrow(pollable.rep())]);
        assert_eq!(ready.unwrap(), [0]);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        poll::HostPollable::drop(&mut clock, pollable).unwrap();
    }
}
