//! The wire protocol: RESP2, RESP3 and inline commands.
//!
//! * [`parser`] — the server side: an incremental, zero-copy command parser
//!   with Redis 7.0's exact framing rules and error texts.
//! * [`reply`] — [`Reply`], what command handlers return, and its RESP2 and
//!   RESP3 encoder.
//! * [`frame`] — the client side: a general RESP2/RESP3 value parser for
//!   tests, the simulator and fuzzers.
//!
//! This module does no I/O: callers hand it buffers and get buffers back.

pub mod frame;
mod number;
pub mod parser;
pub mod reply;

pub use parser::{ParseLimits, Parser, ProtocolError};
pub use reply::{Protocol, Reply};
