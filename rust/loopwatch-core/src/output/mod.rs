//! Outputs: result tables built column by column, labeled tables written to Parquet.

mod destination;
mod fill;
mod parquet_file;
mod parquet_stream;
mod splice;
mod splice_file;
mod table;

pub use destination::Destination;
pub use parquet_file::write_parquet;
pub use parquet_stream::ParquetSink;
pub use splice::{check_row_group, copyable_footers, read_footer, ColumnEncoder, SpliceWriter};
pub use table::TableBuilder;

use arrow::datatypes::{DataType, Schema};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

/// How labeled tables are written: zstd; dictionary encoding only for string columns (for
/// integers and times it costs much more time than it saves space: measured 1.8x slower
/// writes on the benchmark log); `metadata` in the footer's key/value pairs.
pub fn writer_properties(schema: &Schema, metadata: &[(String, String)]) -> WriterProperties {
    let pairs = metadata
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_dictionary_enabled(false)
        .set_key_value_metadata(Some(pairs));
    for field in schema.fields() {
        let stringy = matches!(
            field.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _)
        );
        if stringy {
            builder = builder
                .set_column_dictionary_enabled(ColumnPath::from(field.name().as_str()), true);
        }
    }
    builder.build()
}
