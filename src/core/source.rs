//! byte sources: a whole buffer, or ranges of a file.
//!
//! the parsers only ever ask for `(offset, len)` ranges, so a source can be a `Vec<u8>` already in
//! memory, a native `File` read with `seek`, or (in the browser) a prefix that the page grows by
//! fetching more when a parser answers [`Error::Truncated`].

use super::error::{Error, Result};

/// random access to bytes. `read_range` must fail with [`Error::Truncated`] when
/// `offset + len > self.len()`.
pub trait ByteSource {
    /// total length of the underlying file, in bytes (known up front: File.size, Content-Length).
    fn len(&self) -> u64;
    /// whether the source has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// read exactly `len` bytes at `offset`.
    fn read_range(&self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>>;
}

/// checks that `[offset, offset+len)` lies inside a source of `total` bytes.
pub fn check_range(offset: u64, len: u64, total: u64, what: &str) -> Result<()> {
    let end = offset.checked_add(len).ok_or_else(|| {
        Error::Format(format!("{what}: offset {offset} + length {len} overflows"))
    })?;
    if end > total {
        return Err(Error::Truncated {
            what: what.to_string(),
            need: end,
            have: total,
        });
    }
    Ok(())
}

/// a buffer that may be a prefix of a longer file: `total` is the file's full length.
pub struct SliceSource<'a> {
    pub bytes: &'a [u8],
    pub total: u64,
}

impl<'a> SliceSource<'a> {
    /// the whole file is in `bytes`.
    pub fn whole(bytes: &'a [u8]) -> Self {
        SliceSource {
            bytes,
            total: bytes.len() as u64,
        }
    }
}

impl ByteSource for SliceSource<'_> {
    fn len(&self) -> u64 {
        self.total
    }
    fn read_range(&self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>> {
        check_range(offset, len, self.total, what)?;
        // inside the file but past the prefix we hold: ask the caller for more.
        check_range(offset, len, self.bytes.len() as u64, what)?;
        Ok(self.bytes[offset as usize..(offset + len) as usize].to_vec())
    }
}

/// a native file read by ranges; only the ranges asked for are ever in memory.
#[cfg(not(target_arch = "wasm32"))]
pub struct FileSource {
    file: std::sync::Mutex<std::fs::File>,
    len: u64,
}

#[cfg(not(target_arch = "wasm32"))]
impl FileSource {
    pub fn open(path: &std::path::Path) -> Result<Self> {
        let file = std::fs::File::open(path)
            .map_err(|e| Error::Io(format!("cannot open {}: {e}", path.display())))?;
        let len = file.metadata()?.len();
        Ok(FileSource {
            file: std::sync::Mutex::new(file),
            len,
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl ByteSource for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_range(&self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        check_range(offset, len, self.len, what)?;
        let mut f = self
            .file
            .lock()
            .map_err(|_| Error::Io("file lock poisoned".into()))?;
        f.seek(SeekFrom::Start(offset))?;
        let mut buf = vec![0u8; len as usize];
        f.read_exact(&mut buf)?;
        Ok(buf)
    }
}
