//! A small, versioned little-endian byte format for states: a magic, the state's kind and format
//! version, then fields written in a fixed order. Reading checks every length, so truncated or
//! foreign bytes give a clear error instead of a panic.

use crate::error::{LwError, Result};

const MAGIC: &[u8; 4] = b"LWST";

pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// Start a state of `kind` (e.g. "label_metrics") at format `version`.
    pub fn new(kind: &str, version: u16) -> Writer {
        let mut w = Writer { buf: Vec::new() };
        w.buf.extend_from_slice(MAGIC);
        w.u16(version);
        w.bytes(kind.as_bytes());
        w
    }
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    pub fn count(&mut self, n: usize) {
        self.u64(n as u64);
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.count(b.len());
        self.buf.extend_from_slice(b);
    }
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    pub fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.i64(v);
            }
            None => self.u8(0),
        }
    }
    pub fn u64s(&mut self, values: &[u64]) {
        self.count(values.len());
        for &v in values {
            self.u64(v);
        }
    }
}

pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    kind: String,
}

impl<'a> Reader<'a> {
    /// Open bytes written by `Writer::new(kind, version)`; any other kind or version is refused.
    pub fn open(data: &'a [u8], kind: &str, version: u16) -> Result<Reader<'a>> {
        let mut r = Reader {
            data,
            pos: 0,
            kind: kind.to_string(),
        };
        if r.take(4).ok() != Some(&MAGIC[..]) {
            return Err(LwError::Data(format!(
                "not a loopwatch state (expected {kind} state bytes)"
            )));
        }
        let found_version = r.u16()?;
        let found_kind = String::from_utf8_lossy(r.bytes()?).to_string();
        if found_kind != kind {
            return Err(LwError::Config(format!(
                "these bytes hold a {found_kind} state, not a {kind} state"
            )));
        }
        if found_version != version {
            return Err(LwError::Config(format!(
                "{kind} state format version {found_version} is not supported (this loopwatch \
                 reads version {version})"
            )));
        }
        Ok(r)
    }

    pub fn corrupt(&self, what: &str) -> LwError {
        LwError::Data(format!(
            "{} state bytes are corrupt or truncated (at byte {}: {what})",
            self.kind, self.pos
        ))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let out = &self.data[self.pos..end];
                self.pos = end;
                Ok(out)
            }
            None => Err(self.corrupt("unexpected end")),
        }
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }
    /// A length, checked against the bytes left (each item takes at least one byte).
    pub fn count(&mut self) -> Result<usize> {
        let n = self.u64()?;
        if n > (self.data.len() - self.pos) as u64 {
            return Err(self.corrupt("length beyond the end"));
        }
        Ok(n as usize)
    }
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.count()?;
        self.take(n)
    }
    pub fn str(&mut self) -> Result<String> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.corrupt("invalid UTF-8"))
    }
    pub fn opt_i64(&mut self) -> Result<Option<i64>> {
        Ok(match self.u8()? {
            0 => None,
            _ => Some(self.i64()?),
        })
    }
    pub fn u64s(&mut self) -> Result<Vec<u64>> {
        let n = self.count()?;
        (0..n).map(|_| self.u64()).collect()
    }
    /// Refuse trailing bytes: a state must be read exactly.
    pub fn finish(self) -> Result<()> {
        if self.pos != self.data.len() {
            return Err(self.corrupt("trailing bytes"));
        }
        Ok(())
    }
}
