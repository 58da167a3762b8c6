//! Owned group keys: a time bucket and segment values that compare across batches, files and
//! machines (states are merged by these keys, and output rows are sorted by them).

use std::cmp::Ordering;

use crate::error::Result;
use crate::state::codec::{Reader, Writer};

/// One segment (`by`) value. Within a column every non-null value has the same variant except
/// `uint64` columns, whose values above `i64::MAX` are `UInt` and sort after every `Int`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SegmentValue {
    Bool(bool),
    Int(i64),
    UInt(u64),
    Str(Vec<u8>),
    /// Declared last so that nulls sort last.
    Null,
}

/// A group: the bucket index (`floor(t / every)`; `None` for a null time, sorted last; always
/// `Some(0)` without buckets) and one value per segment column.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub bucket: Option<i64>,
    pub segment: Vec<SegmentValue>,
}

impl Ord for GroupKey {
    fn cmp(&self, other: &Self) -> Ordering {
        let bucket = match (self.bucket, other.bucket) {
            (Some(a), Some(b)) => a.cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        bucket.then_with(|| self.segment.cmp(&other.segment))
    }
}

impl PartialOrd for GroupKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl GroupKey {
    pub fn write(&self, out: &mut Writer) {
        match self.bucket {
            Some(b) => {
                out.u8(1);
                out.i64(b);
            }
            None => out.u8(0),
        }
        out.count(self.segment.len());
        for value in &self.segment {
            match value {
                SegmentValue::Bool(b) => {
                    out.u8(0);
                    out.u8(*b as u8);
                }
                SegmentValue::Int(v) => {
                    out.u8(1);
                    out.i64(*v);
                }
                SegmentValue::UInt(v) => {
                    out.u8(2);
                    out.u64(*v);
                }
                SegmentValue::Str(bytes) => {
                    out.u8(3);
                    out.bytes(bytes);
                }
                SegmentValue::Null => out.u8(4),
            }
        }
    }

    pub fn read(input: &mut Reader) -> Result<GroupKey> {
        let bucket = match input.u8()? {
            0 => None,
            _ => Some(input.i64()?),
        };
        let n = input.count()?;
        let mut segment = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            segment.push(match input.u8()? {
                0 => SegmentValue::Bool(input.u8()? != 0),
                1 => SegmentValue::Int(input.i64()?),
                2 => SegmentValue::UInt(input.u64()?),
                3 => SegmentValue::Str(input.bytes()?.to_vec()),
                4 => SegmentValue::Null,
                tag => return Err(input.corrupt(&format!("segment value tag {tag}"))),
            });
        }
        Ok(GroupKey { bucket, segment })
    }
}
