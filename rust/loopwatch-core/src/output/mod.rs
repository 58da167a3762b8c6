//! Outputs: result tables built column by column, labeled tables written to Parquet.

mod parquet_file;
mod table;

pub use parquet_file::write_parquet;
pub use table::TableBuilder;
