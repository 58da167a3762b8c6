//! Outputs: result tables built column by column, labeled tables written to Parquet.

mod parquet_file;
mod parquet_stream;
mod table;

pub use parquet_file::write_parquet;
pub use parquet_stream::ParquetSink;
pub use table::TableBuilder;
