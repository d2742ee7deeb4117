//! Integration tests: the host against real plugins built by this suite, and the `lampart`
//! binary against real files. One binary, one module per feature.

mod chain;
mod cli;
mod contract;
mod docs;
mod doctor;
mod engine;
mod fixtures;
mod hostile;
mod inspectors;
mod mcp;
mod scaffold;
mod serve;
mod signing;
mod stream;
mod support;
#[cfg(unix)]
mod trust;
mod warm;
