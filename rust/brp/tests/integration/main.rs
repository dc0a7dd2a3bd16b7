//! The core crate's integration tests, in one binary: each module drives
//! the public API the way a host program does.

mod app;
mod cache;
mod conformance;
mod discover;
mod error_table;
mod fuzz_corpus;
mod hardening;
mod jsonrpc;
mod layers;
mod modules;
mod mutate;
mod poll;
mod pose_client;
mod pose_frames;
mod pose_hardening;
mod pose_logging;
mod pose_people;
mod pose_support;
mod resources;
mod server;
mod server_abuse;
mod server_support;
mod strict_json;
