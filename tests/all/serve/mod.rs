//! `lampart serve` end to end: the real binary on loopback, real plugins, a real SQLite (and,
//! where the machine runs one, PostgreSQL) store, and a plain HTTP/1.1 client.

mod auth;
mod bad_input;
mod defence;
mod elevation;
mod lifecycle;
mod readme;
mod reload;
mod sessions;

pub mod harness;
