//! Outputs: labeled tables written to Parquet.

mod parquet_file;

pub use parquet_file::write_parquet;
