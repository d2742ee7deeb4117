//! MCP over stdio as `lampart mcp` speaks it to the agent: one JSON-RPC message per line.
//!
//! The SDK's own stdio transport drops a line it cannot read without a word, so a client
//! that sent a malformed request would wait for an answer forever. This one answers it, as
//! JSON-RPC says: a line that is not JSON gets a parse error (-32700, no id); a message that
//! is JSON but not a valid MCP message gets an invalid-request error (-32600) with its id
//! when it has one. Either way the next line is read as if nothing happened.

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;

/// The longest line kept: a longer message is read to its end without being kept, and
/// refused like a malformed one.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// Newline-delimited JSON-RPC over a reader and a writer, answering malformed messages.
pub struct LineTransport<R, W> {
    input: BufReader<R>,
    out: Arc<Mutex<W>>,
    max_line: usize,
    /// The line read so far (up to `max_line` bytes of it) and its whole length. Kept here,
    /// not in the reading future, because that future is dropped whenever the service loop
    /// attends to something else first: a line that arrived in pieces must survive that.
    partial: Vec<u8>,
    partial_length: usize,
}

impl<R, W> LineTransport<R, W>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    /// A transport reading `input` and writing `output`.
    pub fn new(input: R, output: W) -> Self {
        LineTransport {
            input: BufReader::new(input),
            out: Arc::new(Mutex::new(output)),
            max_line: MAX_LINE,
            partial: Vec::new(),
            partial_length: 0,
        }
    }

    /// The same transport, keeping lines of at most `max_line` bytes.
    pub fn with_max_line(mut self, max_line: usize) -> Self {
        self.max_line = max_line;
        self
    }

    /// The next line without its newline: `None` at the end of the input, `Err(length)` for
    /// a line over the limit (consumed, not kept). Cancel-safe: what was read of a line
    /// before the future was dropped is kept for the next call.
    async fn next_line(&mut self) -> std::io::Result<Option<Result<Vec<u8>, usize>>> {
        loop {
            let available = self.input.fill_buf().await?;
            if available.is_empty() {
                return Ok((self.partial_length > 0).then(|| self.take_line()));
            }
            let (chunk, end) = match available.iter().position(|&b| b == b'\n') {
                Some(at) => (&available[..at], Some(at + 1)),
                None => (available, None),
            };
            self.partial_length += chunk.len();
            if self.partial_length <= self.max_line {
                self.partial.extend_from_slice(chunk);
            }
            let consumed = end.unwrap_or(chunk.len());
            self.input.consume(consumed);
            if end.is_some() {
                return Ok(Some(self.take_line()));
            }
        }
    }

    /// The line read, or its length when it was over the limit; the next starts empty.
    fn take_line(&mut self) -> Result<Vec<u8>, usize> {
        let line = std::mem::take(&mut self.partial);
        let length = std::mem::replace(&mut self.partial_length, 0);
        if length <= self.max_line {
            Ok(line)
        } else {
            Err(length)
        }
    }
}

/// Answers a line that is not a valid MCP message (a malformed notification is dropped).
async fn reject<W: AsyncWrite + Unpin>(out: &Mutex<W>, line: &str, problem: String) {
    let answer = match serde_json::from_str::<Value>(line) {
        Err(_) => json!({"jsonrpc": "2.0", "id": null,
            "error": {"code": -32700, "message": format!("parse error: {problem}")}}),
        Ok(message) => {
            let id = message
                .get("id")
                .filter(|id| id.is_string() || id.is_i64() || id.is_u64())
                .cloned();
            // A notification (no id) is not answered, even when malformed.
            if message.get("id").is_none() && message.get("method").is_some() {
                tracing::warn!(
                    problem,
                    "a malformed notification from the client was dropped"
                );
                return;
            }
            json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": -32600, "message": format!("invalid request: {problem}")}})
        }
    };
    tracing::warn!(problem, "a malformed message from the client was refused");
    let _ = write_line(out, &answer).await;
}

async fn write_line<W: AsyncWrite + Unpin>(
    out: &Mutex<W>,
    message: &impl serde::Serialize,
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    let mut out = out.lock().await;
    out.write_all(&line).await?;
    out.flush().await
}

impl<R, W> Transport<RoleServer> for LineTransport<R, W>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let out = Arc::clone(&self.out);
        async move { write_line(&out, &item).await }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            let line = match self.next_line().await {
                Ok(Some(Ok(line))) => line,
                Ok(Some(Err(length))) => {
                    let problem = format!(
                        "a message of {length} bytes is over the limit of {} bytes",
                        self.max_line
                    );
                    reject(&self.out, "{}", problem).await;
                    continue;
                }
                Ok(None) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "reading from the client failed");
                    return None;
                }
            };
            if line.trim_ascii().is_empty() {
                continue;
            }
            match serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(&line) {
                Ok(message) => return Some(message),
                Err(e) => reject(&self.out, &String::from_utf8_lossy(&line), e.to_string()).await,
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.out.lock().await.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exchange(input: &str) -> (Vec<Value>, usize) {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let (read, write) = tokio::io::split(server);
        let mut transport = LineTransport::new(read, write).with_max_line(200);
        client.write_all(input.as_bytes()).await.unwrap();
        client.shutdown().await.unwrap();
        let mut received = 0;
        while transport.receive().await.is_some() {
            received += 1;
        }
        drop(transport);
        let mut out = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut client, &mut out)
            .await
            .unwrap();
        let answers = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (answers, received)
    }

    #[tokio::test]
    async fn malformed_lines_are_answered_and_the_rest_goes_on() {
        let input = concat!(
            "not json\n",
            "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":\"x\"}\n",
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/bogus\",\"params\":3}\n",
            "\n",
            "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\"}\n",
        );
        let (answers, received) = exchange(input).await;
        assert!(received >= 1, "the ping is read after the bad lines");
        assert_eq!(answers.len(), 2, "{answers:?}");
        assert_eq!(answers[0]["error"]["code"], -32700);
        assert_eq!(answers[0]["id"], Value::Null);
        assert_eq!(answers[1]["error"]["code"], -32600);
        assert_eq!(answers[1]["id"], 7);
    }

    #[tokio::test]
    async fn an_over_long_line_is_refused_and_the_next_one_read() {
        let long = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{{\"pad\":\"{}\"}}}}\n",
            "x".repeat(1000)
        );
        let input = long + "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n";
        let (answers, received) = exchange(&input).await;
        assert_eq!(received, 1, "the short ping");
        assert_eq!(answers.len(), 1, "{answers:?}");
        assert_eq!(answers[0]["error"]["code"], -32600);
        assert!(
            answers[0]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("over the limit of 200 bytes")
        );
    }

    #[tokio::test]
    async fn a_line_in_pieces_survives_a_dropped_read() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let (read, write) = tokio::io::split(server);
        let mut transport = LineTransport::new(read, write);
        let line = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\n";
        let (first, rest) = line.split_at(17);
        client.write_all(first.as_bytes()).await.unwrap();
        // The service loop gives up on this read to attend to something else.
        let gave_up =
            tokio::time::timeout(std::time::Duration::from_millis(50), transport.receive()).await;
        assert!(gave_up.is_err(), "half a line is not a message");
        client.write_all(rest.as_bytes()).await.unwrap();
        let message = transport.receive().await.expect("the whole message");
        let value = serde_json::to_value(&message).unwrap();
        assert_eq!(value["id"], 3, "{value}");
        assert_eq!(value["method"], "ping");
    }
}
