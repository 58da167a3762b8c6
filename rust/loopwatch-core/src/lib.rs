//! loopwatch's engine: natural labels from delayed feedback, over Arrow data.
//!
//! The data's way through the crate:
//! `input` (Arrow batches or Parquet files) → `normalize` (keys and times in one comparable
//! form) → `join` (crediting events to predictions, labels) → `output` (Arrow / Parquet).
//! Nothing here knows about Python; `loopwatch-py` adapts it.

pub mod delays;
pub mod duration;
pub mod error;
pub mod group;
pub mod input;
pub mod interrupt;
pub mod join;
pub mod label_metrics;
pub mod normalize;
pub mod output;
pub mod pipeline;
pub mod pool;
pub mod popularity;
pub mod progress;
pub mod spill;
pub mod state;
pub mod trace;

pub use error::{LwError, Result};
pub use join::{
    label_join, Attribution, JoinOptions, JoinOutput, JoinStats, WatermarkArg, WindowArg,
};
