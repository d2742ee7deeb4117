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
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, Lines};
use tokio::sync::Mutex;

/// The longest line read: a message over it is refused like a malformed one.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// Newline-delimited JSON-RPC over a reader and a writer, answering malformed messages.
pub struct LineTransport<R, W> {
    lines: Lines<BufReader<R>>,
    out: Arc<Mutex<W>>,
}

impl<R, W> LineTransport<R, W>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    /// A transport reading `input` and writing `output`.
    pub fn new(input: R, output: W) -> Self {
        LineTransport {
            lines: BufReader::new(input).lines(),
            out: Arc::new(Mutex::new(output)),
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
            let line = match self.lines.next_line().await {
                Ok(Some(line)) => line,
                Ok(None) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "reading from the client failed");
                    return None;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            if line.len() > MAX_LINE {
                reject(
                    &self.out,
                    "{}",
                    format!(
                        "a message of {} bytes is over the limit of {MAX_LINE}",
                        line.len()
                    ),
                )
                .await;
                continue;
            }
            match serde_json::from_str::<RxJsonRpcMessage<RoleServer>>(&line) {
                Ok(message) => return Some(message),
                Err(e) => reject(&self.out, &line, e.to_string()).await,
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
        let mut transport = LineTransport::new(read, write);
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
}
