//! Masthead: a self-hosted news publishing platform in one binary.
//!
//! `main.rs` only parses the command line; everything runs from here so the
//! integration tests can build as many apps as they like in one process.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod access;
pub mod api;
pub mod app;
pub mod billing;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod content;
pub mod fetch;
pub mod http;
pub mod imports;
pub mod integrations;
pub mod jobs;
pub mod mail;
pub mod media;
pub mod members;
pub mod newsletters;
pub mod newsroom;
pub mod serve;
pub mod settings;
pub mod site;
pub mod staff;
pub mod templates;
