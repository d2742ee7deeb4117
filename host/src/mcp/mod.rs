//! The MCP proxy: Lampart between an agent and its MCP servers, without changing either.
//!
//! - `lampart mcp --config chain.toml -- <server command>`: the agent's client starts
//!   Lampart instead of the server; Lampart starts the server as a child and relays
//!   ([`stdio`]).
//! - `lampart serve` with `[[upstream]]` entries: agents connect to `/mcp/{name}` over
//!   Streamable HTTP with their credential, and Lampart connects to the server ([`http`]).
//!
//! Either way each MCP session gets a [`relay::Relay`], which decides on every `tools/call`
//! (and its result), and passes `tools/list`, `resources/read` and `prompts/get` results
//! through the response phase. The MCP protocol itself is the official Rust SDK's (`rmcp`).

pub mod config;
pub mod http;
pub mod lines;
pub mod relay;
pub mod stdio;
pub mod upstream;
