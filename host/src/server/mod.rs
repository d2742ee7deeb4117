//! `lampart serve`: the decision point as an HTTP service.

pub mod config;
