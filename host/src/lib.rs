//! Lampart: a policy host for AI agents.
//!
//! Every tool call an agent makes passes through a [`chain::Chain`] of sandboxed WebAssembly
//! plugins before it reaches the tool, and the tool's answer passes through again on its way
//! back. Inspectors report findings, policies decide, and every decision is written to a
//! hash-chained [`audit`] log.
//!
//! Data flows one way: [`request`] (what is asked) → [`chain`] (who decides) → [`engine`]
//! (how a plugin runs) → [`record`] / [`audit`] (what is kept).

pub mod audit;
pub mod auth;
pub mod canonical;
pub mod chain;
pub mod clock;
pub mod config;
pub mod digest;
pub mod doctor;
pub mod engine;
pub mod files;
pub mod host;
pub mod mcp;
pub mod private_dir;
pub mod record;
pub mod request;
pub mod server;
pub mod signing;
pub mod state;
pub mod strict_json;
pub mod text;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
