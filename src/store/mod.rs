//! The compiled corpus store: a Pwned Passwords corpus as one binary file
//! small enough to stay in the page cache.
//!
//! The text corpus (about 2 billion hashes, 77-80 GB) does not fit in the
//! memory of an ordinary audit machine, so every audit against it becomes a
//! disk scan. A store keeps 64 bits of each hash (a 2^24-bucket table plus
//! 5-byte keys at that size; a false positive per query has a chance of
//! about N/2^64) and its exact count (one byte up to 254, an overflow table
//! above), about 6.6 bytes per hash in all. It is checked line by line as it
//! is built ([`build`]), records what it was built from and which hash space
//! it covers ([`meta`]), and is checked again at every open ([`reader`]).
//! `--full-keys` keeps whole hashes, for serving range API suffixes.

pub mod build;
pub mod command;
mod info;
pub mod layout;
pub mod meta;
pub mod range;
pub mod reader;

pub use range::PrefixLines;
pub use reader::{is_store, Store};
