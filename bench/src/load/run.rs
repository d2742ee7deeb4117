//! The closed loop: each connection sends one request, reads the whole answer, and sends
//! the next, until the run's end.
//!
//! A request counts in the phase in which it was sent: those sent before the warm-up ends
//! are warm-up, the others are measured. No request is sent after the end; one in flight
//! then is waited for (at most `--timeout`), so the measured window is the duration plus
//! at most one request's latency, and the rate is taken over the window actually measured.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::CONNECTION;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::LoadError;
use super::plan::Plan;
use super::tally::{ErrorKind, Tally};

/// How long a connection waits before connecting again after it failed to connect, so a
/// server that is down is not spun on.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// What a run saw.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Requests sent during the warm-up.
    pub warmup: Tally,
    /// Requests sent after the warm-up.
    pub measured: Tally,
    /// From the end of the warm-up until the last measured request was answered.
    pub measured_for: Duration,
}

/// Runs `plan` on a new multi-thread runtime of `threads` worker threads.
pub fn run(plan: Plan, threads: usize) -> Result<Outcome, LoadError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(LoadError::Runtime)?;
    Ok(runtime.block_on(drive(plan)))
}

/// Runs `plan` on the current runtime.
pub async fn drive(plan: Plan) -> Outcome {
    let plan = Arc::new(plan);
    let start = Instant::now();
    let measure_from = start + plan.pace.warmup;
    let end = measure_from + plan.pace.duration;
    let tasks: Vec<_> = (0..plan.pace.connections)
        .map(|index| {
            let plan = Arc::clone(&plan);
            tokio::spawn(connection(plan, index, measure_from, end))
        })
        .collect();
    let mut outcome = Outcome::default();
    for task in tasks {
        match task.await {
            Ok((warmup, measured)) => {
                outcome.warmup.merge(warmup);
                outcome.measured.merge(measured);
            }
            Err(err) => outcome.measured.error(ErrorKind::Transport, || {
                format!("a connection task failed: {err}")
            }),
        }
    }
    outcome.measured_for = Instant::now().saturating_duration_since(measure_from);
    outcome
}

/// One keep-alive connection's loop; its warm-up and measured tallies.
async fn connection(
    plan: Arc<Plan>,
    index: usize,
    measure_from: Instant,
    end: Instant,
) -> (Tally, Tally) {
    let mut warmup = Tally::default();
    let mut measured = Tally::default();
    let mut line = plan.first_line(index);
    let mut open: Option<SendRequest<Full<Bytes>>> = None;
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let tally = if sent >= measure_from {
            &mut measured
        } else {
            &mut warmup
        };
        let mut sender = match open.take() {
            Some(sender) => sender,
            None => match connect(&plan).await {
                Ok(sender) => sender,
                Err(message) => {
                    tally.error(ErrorKind::Connect, || message);
                    tokio::time::sleep_until((Instant::now() + RECONNECT_PAUSE).min(end)).await;
                    continue;
                }
            },
        };
        let request = request(&plan, line);
        let sent = Instant::now();
        match tokio::time::timeout(plan.pace.timeout, exchange(&mut sender, request)).await {
            Ok(Ok((status, keep_alive))) => {
                tally.answer(status, sent.elapsed());
                if keep_alive && !sender.is_closed() {
                    open = Some(sender);
                }
            }
            Ok(Err(err)) => tally.error(ErrorKind::Transport, || err.to_string()),
            Err(_) => tally.error(ErrorKind::Timeout, || {
                format!("no answer within {:?}", plan.pace.timeout)
            }),
        }
        line = (line + 1) % plan.bodies.len();
    }
    (warmup, measured)
}

/// A new keep-alive connection, its HTTP/1.1 handshake done and its driver spawned.
async fn connect(plan: &Plan) -> Result<SendRequest<Full<Bytes>>, String> {
    let target = &plan.target;
    let stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("{}:{}: {e}", target.host, target.port))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("{}:{}: TCP_NODELAY: {e}", target.host, target.port))?;
    let (sender, driver) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{}: HTTP/1.1 handshake: {e}", target.authority))?;
    // The driver ends when the connection closes; its error, if any, shows up in the
    // request that was in flight.
    tokio::spawn(async move {
        let _ = driver.await;
    });
    Ok(sender)
}

/// The request for body `line`.
fn request(plan: &Plan, line: usize) -> Request<Full<Bytes>> {
    let body = plan.bodies[line % plan.bodies.len()].clone();
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = plan.uri.clone();
    *request.headers_mut() = plan.headers.clone();
    request
}

/// Sends `request` and reads its whole answer: the status, and whether the server keeps
/// the connection open.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> Result<(u16, bool), hyper::Error> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let keep_alive = !response
        .headers()
        .get(CONNECTION)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
    response.into_body().collect().await?;
    Ok((status, keep_alive))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use axum::Router;
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::routing::post;

    use super::super::plan::{Pace, Target, bodies_of, parse_header};
    use super::*;

    /// What the test server answered, by status.
    type Answered = Arc<Mutex<BTreeMap<u16, u64>>>;

    /// A server on a loopback port that answers 401 without the right bearer token, 200 to
    /// a body `allow` and 403 to anything else, closing the connection after each answer
    /// when `close` is set; it counts what it answered.
    async fn server(close: bool) -> (u16, Answered) {
        let answered: Answered = Arc::default();
        let counts = Arc::clone(&answered);
        let app = Router::new().route(
            "/v1/decide",
            post(move |headers: HeaderMap, body: String| {
                let counts = Arc::clone(&counts);
                async move {
                    let authorized = headers
                        .get(header::AUTHORIZATION)
                        .is_some_and(|value| value == "Bearer k");
                    let status = match (authorized, body.as_str()) {
                        (false, _) => StatusCode::UNAUTHORIZED,
                        (true, "allow") => StatusCode::OK,
                        (true, _) => StatusCode::FORBIDDEN,
                    };
                    *counts
                        .lock()
                        .expect("counts")
                        .entry(status.as_u16())
                        .or_default() += 1;
                    let connection = if close { "close" } else { "keep-alive" };
                    (status, [(header::CONNECTION, connection)], "{}")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (port, answered)
    }

    fn plan(port: u16, connections: usize) -> Plan {
        Plan::new(
            Target::parse(&format!("http://127.0.0.1:{port}/v1/decide")).expect("url"),
            "text/plain",
            vec![parse_header("authorization: Bearer k").expect("header")],
            bodies_of("allow\nallow\ndeny\n"),
            Pace {
                connections,
                duration: Duration::from_millis(300),
                warmup: Duration::from_millis(100),
                timeout: Duration::from_secs(5),
            },
        )
        .expect("plan")
    }

    /// The statuses the generator counted, warm-up and measured together.
    fn counted(outcome: &Outcome) -> BTreeMap<u16, u64> {
        let mut all = outcome.warmup.clone();
        all.merge(outcome.measured.clone());
        all.statuses
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_every_answer_by_status() {
        let (port, answered) = server(false).await;
        let outcome = drive(plan(port, 4)).await;
        let served = answered.lock().expect("counts").clone();
        assert_eq!(counted(&outcome), served);
        assert_eq!(outcome.measured.failed() + outcome.warmup.failed(), 0);
        assert!(outcome.measured.answered() > 0, "{outcome:?}");
        assert_eq!(
            outcome.measured.latencies_ns.len() as u64,
            outcome.measured.answered()
        );
        // The token reached the server, and the file's mix is kept: two allows to a deny,
        // within a request per connection.
        assert!(!served.contains_key(&401), "{served:?}");
        let (allowed, denied) = (served[&200], served[&403]);
        let total = allowed + denied;
        assert!(denied.abs_diff(total / 3) <= 5, "{served:?}");
        assert_eq!(
            outcome.measured.unexpected(200),
            outcome.measured.statuses[&403]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reconnects_when_the_server_closes_the_connection() {
        let (port, answered) = server(true).await;
        let outcome = drive(plan(port, 2)).await;
        assert_eq!(
            outcome.measured.failed() + outcome.warmup.failed(),
            0,
            "{outcome:?}"
        );
        assert!(outcome.measured.answered() > 0);
        assert_eq!(counted(&outcome), *answered.lock().expect("counts"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_that_is_not_there_is_counted_as_connect_errors() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        let outcome = drive(plan(port, 2)).await;
        assert_eq!(outcome.measured.answered() + outcome.warmup.answered(), 0);
        assert!(
            outcome.measured.errors[&ErrorKind::Connect] > 0,
            "{outcome:?}"
        );
        assert!(
            outcome
                .warmup
                .first_error
                .as_deref()
                .is_some_and(|e| e.starts_with("connect: 127.0.0.1:")),
            "{outcome:?}"
        );
        assert_eq!(outcome.measured.unexpected(200), outcome.measured.failed());
    }
}
