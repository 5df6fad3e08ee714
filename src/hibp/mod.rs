//! The Pwned Passwords range format and protocol, in one place: what a
//! prefix body is and which bodies are accepted ([`body`]), how prefixes are
//! named ([`prefix`]), the range API client ([`client`]) and the fetch loop
//! that drives it ([`fetch`]), the private response cache ([`cache`]) and
//! the public per-prefix mirror of `credaudit download` ([`mirror`]).
//!
//! The sources built on it (`--api`, `--corpus DIR`) live in
//! [`crate::source`]; they, `download` and `download --verify` read bodies
//! with the same function, so they agree on every file.

pub mod body;
pub mod cache;
pub mod client;
pub mod fetch;
pub mod mirror;
pub mod prefix;
