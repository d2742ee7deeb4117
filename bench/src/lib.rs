//! `lampart-bench`: Lampart against its peers on the same policy and the same requests.
//!
//! The policy, a tool allowlist per role plus argument conditions (an amount bound and a
//! trusted-recipient list), and the requests are in [`requests`], with the `tool-rules`
//! settings that express the policy in Lampart. [`peers`] has the engines Lampart is
//! compared with (native Rust, Cedar, and Rego through regorus' interpreter and its RVM), and
//! [`peers::check_agreement`], which every benchmark runs before timing anything: all
//! engines must return the expected verdicts. [`cases`] has the wasm side: Lampart chains of
//! tool-rules steps and bare wasmtime running the same component. [`measure`] times them and
//! the audit log; [`report`] writes `BENCHMARKS.md` and its plot. Run everything with
//! `cargo xtask bench`.
//!
//! [`load`] is the HTTP load generator behind the `lampart-load` binary, which
//! `bench/serve.sh` runs against `lampart serve`.

pub mod cases;
pub mod load;
pub mod mcp_load;
pub mod measure;
pub mod peers;
pub mod realistic;
pub mod report;
pub mod requests;
