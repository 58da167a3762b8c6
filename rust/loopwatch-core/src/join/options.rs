//! What the caller asks of `label_join`, before it is checked against the data.

use std::str::FromStr;

use crate::error::{config_err, LwError};

/// Rows per work chunk: small enough to spread over cores, large enough to amortize per-chunk
/// work.
pub const DEFAULT_CHUNK_ROWS: usize = 64 * 1024;

/// Which predictions a feedback event is credited to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attribution {
    /// The latest prediction at or before the event (last touch).
    Last,
    /// The earliest prediction whose window holds the event.
    First,
    /// Every prediction whose window holds the event.
    All,
}

impl Attribution {
    pub fn name(self) -> &'static str {
        match self {
            Attribution::Last => "last",
            Attribution::First => "first",
            Attribution::All => "all",
        }
    }
}

impl FromStr for Attribution {
    type Err = LwError;

    fn from_str(s: &str) -> Result<Self, LwError> {
        match s {
            "last" => Ok(Attribution::Last),
            "first" => Ok(Attribution::First),
            "all" => Ok(Attribution::All),
            other => Err(config_err(format!(
                "attribution: unknown mode {other:?}; expected \"last\", \"first\" or \"all\""
            ))),
        }
    }
}

/// A label window as given: a duration string (timestamps) or an integer (integer time).
pub use crate::duration::DurationArg as WindowArg;

/// An explicit watermark: an instant (seconds + nanoseconds since the epoch, naive or aware)
/// for timestamp columns, or an integer for integer time columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatermarkArg {
    Instant {
        seconds: i64,
        nanos: i64,
        aware: bool,
    },
    Int(i64),
}

#[derive(Clone, Debug)]
pub struct JoinOptions {
    pub on: Vec<String>,
    pub windows: Vec<WindowArg>,
    pub time: String,
    pub feedback_time: String,
    pub watermark: Option<WatermarkArg>,
    pub attribution: Attribution,
    pub value: Option<String>,
    pub threads: Option<usize>,
    /// Tests only: mask applied to row hashes to force collisions (`u64::MAX` in real use).
    pub hash_mask: u64,
    /// Rows per work chunk (tests use tiny chunks to exercise the cross-chunk paths).
    pub chunk_rows: usize,
}

impl JoinOptions {
    pub fn new(on: Vec<String>, windows: Vec<WindowArg>) -> JoinOptions {
        JoinOptions {
            on,
            windows,
            time: "ts".into(),
            feedback_time: "ts".into(),
            watermark: None,
            attribution: Attribution::Last,
            value: None,
            threads: None,
            hash_mask: u64::MAX,
            chunk_rows: DEFAULT_CHUNK_ROWS,
        }
    }
}
