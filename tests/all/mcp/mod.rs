//! The MCP proxy against real MCP peers: the official Rust SDK's client and server and the
//! Python SDK's, over stdio (`lampart mcp`) and Streamable HTTP (`lampart serve`).

mod failures;
pub mod harness;
mod http;
mod stdio;
