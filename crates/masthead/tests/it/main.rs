#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One integration-test binary: the real app, real databases (a SQLite
//! file and PostgreSQL), real HTTP on loopback. Every test runs on both
//! backends through `both!`.

mod harness;

mod access;
mod accounts;
mod admin_api;
mod billing;
mod content_api;
mod editor;
mod ghost;
mod http;
mod import;
mod jobs;
mod leak;
mod newsletters;
mod newsroom;
mod page_cache;
mod security;
mod site;
mod smtp;
mod storage;
mod stripe_standin;
mod substack;
mod upgrade;
mod wordpress;
