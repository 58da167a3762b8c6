//! The route of every prediction row — its partition, or how it is settled — recorded in pass 2
//! of the streaming join and replayed in pass 4 to put the labels back in input order.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use crate::error::{io_err, LwError, Result};
use crate::spill::TempDir;

/// The route of a prediction that no partition holds, valid or not, whose labels are all
/// pending: invalid, after the watermark, or no watermark at all.
pub(super) const PENDING: u8 = 254;
/// The route of a valid prediction that no partition holds, with every window closed and
/// nothing credited: its key has no event and it is at least the largest window before the
/// watermark.
pub(super) const CLOSED: u8 = 255;

// A route is one byte: partitions, then the two codes above.
const _: () = assert!(crate::spill::MAX_PARTITIONS <= PENDING as u64);

/// The route of every prediction row, in input order: recorded while splitting (pass 2),
/// replayed when writing (pass 4). One byte per row: in memory when nothing spills, else
/// spilled with the partitions.
pub(super) struct Routes {
    store: RouteStore,
    recorded: u64,
    replayed: u64,
}

enum RouteStore {
    Memory(Vec<u8>),
    Spilled {
        path: PathBuf,
        writer: Option<BufWriter<File>>,
        reader: Option<BufReader<File>>,
    },
}

impl Routes {
    pub fn new(temp: Option<&TempDir>) -> Result<Routes> {
        let store = match temp {
            Some(dir) => {
                let path = dir.path().join("routes.bin");
                let file =
                    File::create(&path).map_err(|e| io_err(path.display().to_string(), e))?;
                RouteStore::Spilled {
                    path,
                    writer: Some(BufWriter::with_capacity(1 << 20, file)),
                    reader: None,
                }
            }
            None => RouteStore::Memory(Vec::new()),
        };
        Ok(Routes {
            store,
            recorded: 0,
            replayed: 0,
        })
    }

    pub fn record(&mut self, ids: &[u8]) -> Result<()> {
        match &mut self.store {
            RouteStore::Memory(bytes) => bytes.extend_from_slice(ids),
            RouteStore::Spilled {
                path,
                writer: Some(w),
                ..
            } => w
                .write_all(ids)
                .map_err(|e| io_err(path.display().to_string(), e))?,
            RouteStore::Spilled { .. } => {
                return Err(LwError::Data(
                    "internal error: routes recorded after replaying began".into(),
                ))
            }
        }
        self.recorded += ids.len() as u64;
        Ok(())
    }

    /// The routes of the next `n` rows (the recording is finished on the first call).
    pub fn next(&mut self, n: usize) -> Result<Vec<u8>> {
        let start = self.replayed;
        if start + n as u64 > self.recorded {
            return Err(changed_input());
        }
        self.replayed += n as u64;
        match &mut self.store {
            RouteStore::Memory(bytes) => Ok(bytes[start as usize..start as usize + n].to_vec()),
            RouteStore::Spilled {
                path,
                writer,
                reader,
            } => {
                let name = || path.display().to_string();
                if let Some(mut w) = writer.take() {
                    w.flush().map_err(|e| io_err(name(), e))?;
                }
                if reader.is_none() {
                    let file = File::open(&*path).map_err(|e| io_err(name(), e))?;
                    *reader = Some(BufReader::with_capacity(1 << 20, file));
                }
                let mut bytes = vec![0u8; n];
                if let Some(r) = reader.as_mut() {
                    r.read_exact(&mut bytes).map_err(|e| io_err(name(), e))?;
                }
                Ok(bytes)
            }
        }
    }

    /// Are routes left to replay?
    pub fn has_more(&self) -> bool {
        self.replayed < self.recorded
    }
}

/// Pass 4 saw other rows than pass 2.
pub(super) fn changed_input() -> LwError {
    LwError::Data(
        "the predictions read for the output differ from those joined (did an input file \
         change during the call?)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_replay_in_order_and_a_replay_past_the_recording_is_an_error() {
        let dir = TempDir::new(None).unwrap();
        for temp in [None, Some(&dir)] {
            let mut routes = Routes::new(temp).unwrap();
            routes.record(&[0, 1, CLOSED]).unwrap();
            routes.record(&[PENDING]).unwrap();
            assert_eq!(routes.next(3).unwrap(), [0, 1, CLOSED]);
            assert!(routes.has_more());
            assert!(routes.next(2).is_err(), "more rows than recorded");
            assert_eq!(routes.next(1).unwrap(), [PENDING]);
            assert!(!routes.has_more());
            if temp.is_some() {
                assert!(
                    routes.record(&[0]).is_err(),
                    "recording after replaying began"
                );
            }
        }
    }
}
