//! One error type for the engine; the Python binding maps each variant to an exception class.

use arrow::error::ArrowError;
use parquet::errors::ParquetError;

#[derive(Debug, thiserror::Error)]
pub enum LwError {
    /// A column is missing or has a type the operation cannot use.
    #[error("{0}")]
    Schema(String),
    /// An argument is malformed (bad duration, unknown attribution, ...).
    #[error("{0}")]
    Config(String),
    /// Values in the data cannot be used as asked (e.g. a time that overflows a finer unit).
    #[error("{0}")]
    Data(String),
    /// A file could not be found, read or written.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// The user asked the work to stop (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
    #[error("parquet: {0}")]
    Parquet(#[from] ParquetError),
}

pub type Result<T> = std::result::Result<T, LwError>;

pub(crate) fn schema_err(message: impl Into<String>) -> LwError {
    LwError::Schema(message.into())
}

pub(crate) fn config_err(message: impl Into<String>) -> LwError {
    LwError::Config(message.into())
}

pub(crate) fn io_err(path: impl Into<String>, err: impl std::fmt::Display) -> LwError {
    LwError::Io {
        path: path.into(),
        message: err.to_string(),
    }
}
