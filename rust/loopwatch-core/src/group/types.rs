//! The few Arrow types a grouping can hold (time and segment columns), as bytes.

use arrow::datatypes::{DataType, TimeUnit};

use crate::error::Result;
use crate::state::codec::{Reader, Writer};

const PLAIN: [DataType; 12] = [
    DataType::Boolean,
    DataType::Int8,
    DataType::Int16,
    DataType::Int32,
    DataType::Int64,
    DataType::UInt8,
    DataType::UInt16,
    DataType::UInt32,
    DataType::UInt64,
    DataType::Utf8,
    DataType::LargeUtf8,
    DataType::Utf8View,
];
const UNITS: [TimeUnit; 4] = [
    TimeUnit::Second,
    TimeUnit::Millisecond,
    TimeUnit::Microsecond,
    TimeUnit::Nanosecond,
];

pub fn write(data_type: &DataType, out: &mut Writer) {
    if let DataType::Timestamp(unit, zone) = data_type {
        out.u8(100 + UNITS.iter().position(|u| u == unit).unwrap_or(0) as u8);
        out.str(zone.as_deref().unwrap_or(""));
        return;
    }
    // Groupings only hold the types above (checked when they are built).
    out.u8(PLAIN
        .iter()
        .position(|t| t == data_type)
        .unwrap_or(usize::MAX) as u8);
}

pub fn read(input: &mut Reader) -> Result<DataType> {
    let code = input.u8()? as usize;
    if (100..104).contains(&code) {
        let zone = input.str()?;
        let zone = (!zone.is_empty()).then(|| zone.into());
        return Ok(DataType::Timestamp(UNITS[code - 100], zone));
    }
    PLAIN
        .get(code)
        .cloned()
        .ok_or_else(|| input.corrupt(&format!("type code {code}")))
}
